"""Read-only queries of the QIA pages: a version's headings and scores, what a user may do
now, the heatmap and the risk register. What the QIA adds to the scheme pages is in
qia.page_parts."""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    Count,
    F,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    prefetch_related_objects,
)
from django.urls import reverse
from django_fsm_log.models import StateLog

from governance import policy, selectors
from governance.models import Scheme, SchemeState
from qia import policy as rules
from qia import services
from qia.models import (
    AGREED,
    BAND_ORDER,
    CONSEQUENCES,
    HEADINGS,
    LIKELIHOODS,
    AssessmentKind,
    Band,
    Heading,
    PanelScore,
    QiaVersion,
    VersionStatus,
    band_of,
    risk_score,
)

# Members disagree when their scores for a heading lie this many bands apart, or more.
SPREAD_BANDS = 2


def stage(version: QiaVersion, scheme: Scheme) -> tuple[str, str]:
    """Where a version is now, for people: a first assessment follows its scheme."""
    if rules.at_panel(version, scheme):
        return VersionStatus.PANEL, VersionStatus.PANEL.label
    if version.drives_scheme and version.status == VersionStatus.SELF_ASSESSMENT:
        if scheme.state == SchemeState.CONFIRM_AND_CHALLENGE:
            return "submitted", "Submitted with the PID"
    return version.status, version.get_status_display()


def band_rank(row) -> int:
    """0 for a heading with no negative impact, then low .. extreme as 1 .. 4."""
    return BAND_ORDER.index(row.band)


@dataclass
class HeadingRow:
    heading: str
    label: str
    is_domain: bool
    self_row: object = None
    agreed: object = None
    scores: list = field(default_factory=list)
    mitigations: list = field(default_factory=list)

    @property
    def spread(self) -> int:
        ranks = [band_rank(score) for score in self.scores]
        return max(ranks) - min(ranks) if ranks else 0

    @property
    def disagree(self) -> bool:
        return self.spread >= SPREAD_BANDS

    @property
    def lowest(self) -> int | None:
        """The lowest of the members' scores (None: no negative impact, or no scores)."""
        return min((score.score or 0 for score in self.scores), default=0) or None

    @property
    def highest(self) -> int | None:
        """The highest of the members' scores (None: no negative impact, or no scores)."""
        return max((score.score or 0 for score in self.scores), default=0) or None


def load_contents(versions) -> None:
    """Read the versions' assessments, mitigations and panel scores (with their members) in
    three queries, whatever their number: heading_rows and panel_members then read none."""
    prefetch_related_objects(
        list(versions),
        "assessments",
        "mitigations",
        Prefetch(
            "panel_scores",
            queryset=PanelScore.objects.select_related("member").order_by("created_at", "id"),
            to_attr="loaded_scores",
        ),
    )


def newest_versions(schemes) -> dict[int, QiaVersion]:
    """Each scheme's newest QIA version by scheme id, in one query (none for a scheme with no
    QIA yet), each knowing its scheme without reading it again."""
    by_id = {scheme.pk: scheme for scheme in schemes}
    newest = QiaVersion.objects.filter(qia=OuterRef("qia")).order_by("-number").values("pk")[:1]
    versions = QiaVersion.objects.filter(qia__scheme_id__in=by_id, pk=Subquery(newest))
    found = {}
    for version in versions.select_related("qia"):
        version.qia.scheme = by_id[version.qia.scheme_id]
        found[version.qia.scheme_id] = version
    return found


def _scores_of(version: QiaVersion) -> list[PanelScore]:
    """The version's panel scores with their members, in the order they were recorded: as
    load_contents read them, or read now."""
    if hasattr(version, "loaded_scores"):
        return version.loaded_scores
    return list(version.panel_scores.select_related("member").order_by("created_at", "id"))


def heading_rows(version: QiaVersion, *, with_scores: bool) -> list[HeadingRow]:
    """The six headings, each with its self-assessment, agreed score, mitigations and (with
    scores) every panel member's scores. A page asks panel_scores_for instead, which knows
    whether its viewer may see them."""
    by_kind = {kind: services.assessments(version, kind) for kind in AssessmentKind.values}
    mitigations = list(version.mitigations.all())
    scores = _scores_of(version) if with_scores else []
    rows = []
    for heading in HEADINGS:
        rows.append(
            HeadingRow(
                heading=heading,
                label=Heading(heading).label,
                is_domain=HEADINGS.index(heading) < 3,
                self_row=by_kind[AssessmentKind.SELF].get(heading),
                agreed=by_kind[AssessmentKind.AGREED].get(heading),
                scores=[s for s in scores if s.heading == heading],
                mitigations=[m for m in mitigations if m.heading == heading],
            )
        )
    return rows


def panel_members(version: QiaVersion) -> list[dict]:
    """Who has scored, with their profession, in the order they scored."""
    seen = {}
    for score in _scores_of(version):
        seen.setdefault(score.member_id, {"user": score.member, "at": score.created_at})
        seen[score.member_id]["profession"] = (
            score.get_profession_display() or "no profession recorded"
        )
    return list(seen.values())


def panel_scores_for(user, scheme: Scheme, version: QiaVersion) -> dict:
    """The six headings and who scored, with the members' scores only where this user may
    see them (blind scoring: qia.policy.can_see_panel_scores). Every page that could show a
    member's score takes its rows and members from here."""
    see_scores = rules.can_see_panel_scores(user, version, scheme)
    return {
        "see_scores": see_scores,
        "rows": heading_rows(version, with_scores=see_scores),
        "members": panel_members(version) if see_scores else [],
    }


def version_page(user, scheme: Scheme, version: QiaVersion) -> dict:
    """Everything the QIA page shows of one version, as this user may see it."""
    newest = rules.is_newest(version)
    code, label = stage(version, scheme)
    due_version, due = services.reassessment_due(scheme)
    if due_version is None or due_version.pk != version.pk:
        due = []
    return {
        "scheme": scheme,
        "version": version,
        "versions": list(version.qia.versions.order_by("-number")),
        "is_newest": newest,
        "stage": code,
        "stage_label": label,
        **panel_scores_for(user, scheme, version),
        "member_count": version.panel_scores.values("member").distinct().count(),
        "sign_offs": list(version.sign_offs.select_related("by", "on_behalf_of")),
        "flags": list(version.flags.all()),
        "problems": services.self_assessment_problems(version)
        if version.status == VersionStatus.SELF_ASSESSMENT
        else [],
        "due": due,
        "actions": qia_actions(user, scheme, version) if newest else [],
        "log": version_log(version),
    }


def version_log(version: QiaVersion) -> list[StateLog]:
    return list(
        StateLog.objects.filter(
            content_type=ContentType.objects.get_for_model(QiaVersion), object_id=version.pk
        )
        .select_related("by")
        .order_by("timestamp", "id")
    )


# --- what a user may do now ---


def may(action: str, user, scheme: Scheme, **context) -> bool:
    """Whether the policy lets `user` do `action` on the scheme now."""
    return policy.refusal(action, user, scheme, **context) is None


def _available(user, scheme: Scheme, version: QiaVersion | None) -> list[tuple[str, str, str]]:
    """(url name, label, style) of each QIA step this user may take now."""
    found = []
    if may("qia_edit", user, scheme, version=version):
        label = "Edit the QIA self-assessment" if version else "Start the QIA self-assessment"
        if version is not None and not version.drives_scheme:
            label = "Edit the QIA re-assessment"
        found.append(("qia_self_assessment", label, "primary"))
    if version is None:
        return found
    if not version.drives_scheme and may("qia_send_to_panel", user, scheme, version=version):
        found.append(("qia_send_to_panel", "Send the re-assessment to the panel", "primary"))
    if version.needs_eqia and may("qia_attach_eqia", user, scheme, version=version):
        found.append(("qia_eqia", "Attach the equality impact assessment", "outline-primary"))
    at_panel = rules.at_panel(version, scheme)
    if at_panel and may("qia_score", user, scheme, version=version):
        found.append(("qia_score", "Score the QIA", "primary"))
    if at_panel and may("panel_decide", user, scheme, version=version):
        found.append(("qia_agree", "Agree the QIA", "outline-primary"))
        found.append(("qia_panel_close", "Return or dismiss", "outline-danger"))
    if at_panel and rules.can_see_panel_scores(user, version, scheme):
        found.append(("qia_panel", "Panel scores side by side", "outline-secondary"))
    if version.status == VersionStatus.AWAITING_SIGN_OFF and may(
        "sign_off", user, scheme, version=version
    ):
        found.append(("qia_sign_off", "Sign off the QIA", "primary"))
    if may("qia_reassess", user, scheme, version=version):
        found.append(("qia_reassess", "Re-assess the QIA", "outline-primary"))
    return found


def qia_actions(user, scheme: Scheme, version: QiaVersion | None) -> list[selectors.Action]:
    """The QIA buttons this user may press now, for the QIA page."""
    return [
        selectors.Action(label, reverse(name, args=[scheme.pk]), style)
        for name, label, style in _available(user, scheme, version)
    ]


# The steps that move the workflow on get a button on the scheme page as well.
SCHEME_PAGE_STEPS = {
    "qia_self_assessment",
    "qia_send_to_panel",
    "qia_score",
    "qia_agree",
    "qia_sign_off",
}


def newest_on_page(scheme: Scheme) -> QiaVersion | None:
    """The newest version, read once for the scheme page: its buttons and its QIA block both
    ask, on the scheme the page has just loaded (and changes nothing)."""
    if not hasattr(scheme, "_newest_qia_version"):
        scheme._newest_qia_version = rules.newest_version(scheme)
    return scheme._newest_qia_version


def scheme_actions(user, scheme: Scheme) -> list[selectors.Action]:
    return [
        selectors.Action(label, reverse(name, args=[scheme.pk]), style)
        for name, label, style in _available(user, scheme, newest_on_page(scheme))
        if name in SCHEME_PAGE_STEPS
    ]


# --- the heatmap and the register ---

BAND_RANGES = {
    Band.LOW: (1, 3),
    Band.MODERATE: (4, 6),
    Band.HIGH: (7, 12),
    Band.EXTREME: (13, 25),
}
CLOSED = [SchemeState.REJECTED, SchemeState.WITHDRAWN]


def current_risks(user, *, organisation=None, financial_year=None, band=None) -> QuerySet:
    """Each visible scheme's current agreed QIA: the newest version awaiting sign-off or
    signed off. Band filters by the agreed overall score."""
    newest_agreed = (
        QiaVersion.objects.filter(qia=OuterRef("qia"), status__in=AGREED)
        .order_by("-number")
        .values("pk")[:1]
    )
    versions = (
        QiaVersion.objects.filter(status__in=AGREED, pk=Subquery(newest_agreed))
        .filter(qia__scheme__in=selectors.visible_schemes(user).values("pk"))
        .exclude(qia__scheme__state__in=CLOSED)
        .select_related("qia__scheme__organisation", "qia__scheme__financial_year")
    )
    if organisation:
        versions = versions.filter(qia__scheme__organisation=organisation)
    if financial_year:
        versions = versions.filter(qia__scheme__financial_year=financial_year)
    if band:
        low, high = BAND_RANGES[band]
        versions = versions.filter(overall_score__gte=low, overall_score__lte=high)
    return versions


@dataclass
class Cell:
    consequence: int
    likelihood: int
    count: int
    url: str

    @property
    def score(self) -> int:
        return risk_score(self.consequence, self.likelihood)

    @property
    def band(self) -> str:
        return band_of(self.score)


def heatmap(versions: QuerySet, register_query: dict) -> dict:
    """5 x 5 grid by the consequence and likelihood of each QIA's highest-scoring heading:
    rows likelihood 5 (top) to 1, columns consequence 1 to 5."""
    counts = {
        (row["top_consequence"], row["top_likelihood"]): row["n"]
        for row in versions.filter(top_score__isnull=False)
        .order_by()
        .values("top_consequence", "top_likelihood")
        .annotate(n=Count("id"))
    }
    base = reverse("qia_register")
    grid = []
    for likelihood, likelihood_label in reversed(LIKELIHOODS):
        cells = []
        for consequence, _label in CONSEQUENCES:
            query = {**register_query, "consequence": consequence, "likelihood": likelihood}
            cells.append(
                Cell(
                    consequence,
                    likelihood,
                    counts.get((consequence, likelihood), 0),
                    f"{base}?{_encode(query)}",
                )
            )
        grid.append({"likelihood": likelihood, "label": likelihood_label, "cells": cells})
    return {
        "grid": grid,
        "consequences": CONSEQUENCES,
        "total": sum(counts.values()),
        "no_negative": versions.filter(top_score__isnull=True).count(),
    }


def _encode(query: dict) -> str:
    return urlencode({k: v for k, v in query.items() if v not in (None, "")})


REGISTER_SORTS = {
    "score": ("Highest overall score first", ["-overall_score", "-top_score"]),
    "score_asc": ("Lowest overall score first", ["overall_score", "top_score"]),
    "heading": ("Highest heading score first", ["-top_score", "-overall_score"]),
    "review": ("Review date, soonest first", ["review_date"]),
    "reference": ("Scheme reference", ["qia__scheme__reference"]),
}


def mark_due(versions) -> None:
    """Set `due` on each version: why it is due for re-assessment (empty: it is not)."""
    for version in versions:
        signed, due = services.reassessment_due(version.qia.scheme)
        version.due = due if signed is not None and signed.pk == version.pk else []


def register_rows(versions: QuerySet, sort: str) -> QuerySet:
    order = []
    for key in REGISTER_SORTS.get(sort, REGISTER_SORTS["score"])[1]:
        name = key.lstrip("-")
        expression = (
            F(name).desc(nulls_last=True) if key.startswith("-") else F(name).asc(nulls_last=True)
        )
        order.append(expression)
    return versions.order_by(*order, "qia__scheme__reference")
