"""The QIA panel: recording a member's scores, agreeing the outcome, returning or dismissing."""

from django.utils import timezone

from governance import deputies
from governance.models import Scheme, User
from governance.services import ActionRefused
from notifications import emails
from notifications.outbox import notify
from qia import policy as rules
from qia import routes
from qia.models import (
    HEADINGS,
    SCORES,
    Assessment,
    AssessmentKind,
    FlagKind,
    Impact,
    PanelScore,
    QiaVersion,
    band_of,
)
from qia.services import contents, inputs, steps


def panel_score_record(*, version_id: int, by: User, headings: dict[str, dict]) -> QiaVersion:
    """A panel member (or the quality lead) records their own scores: every heading, once."""
    cleaned = inputs.clean_headings(headings, strict=True)

    def work(scheme: Scheme, version: QiaVersion):
        steps.check_allowed("qia_score", by, scheme, version=version)
        PanelScore.objects.bulk_create(
            PanelScore(
                version=version,
                member=by,
                profession=by.profession,
                heading=heading,
                **cleaned[heading],
            )
            for heading in HEADINGS
        )
        steps.touch(version)

    return steps.locked(version_id, by=by, action="qia_score", work=work)


def _agreed_outcome(
    headings: dict[str, dict], overall_score, justification: str
) -> tuple[Assessment | None, int | None, str]:
    """The top heading, the overall score and its justification: the default overall score is
    the highest agreed heading score; another figure needs a written justification."""
    top = contents.highest([Assessment(heading=h, **headings[h]) for h in HEADINGS])
    default = top.score if top else None
    justification = justification.strip()
    if overall_score in (None, "", default):
        return top, default, justification
    if overall_score not in SCORES:
        raise ActionRefused("The overall score is one the 5 x 5 matrix can give (1 to 25).")
    if not justification:
        raise ActionRefused(
            f"The overall score differs from the highest agreed heading score "
            f"({default or 'none'}): write a justification for it."
        )
    return top, overall_score, justification


def panel_agree(
    *,
    version_id: int,
    by: User,
    headings: dict[str, dict],
    mitigations: list[dict] | None = None,
    overall_score: int | None = None,
    justification: str = "",
    expected_revision: int | None = None,
) -> QiaVersion:
    """The quality lead records the agreed score per heading, the mitigations and the overall
    risk (default: the highest agreed heading score). The panel must be complete, and each
    negative heading needs a mitigating action with an owner and a due date."""
    cleaned = inputs.clean_headings(headings, strict=True)
    mitigation_rows = inputs.clean_mitigations(mitigations, strict=True)
    negative = [h for h in HEADINGS if cleaned[h]["impact"] == Impact.NEGATIVE]

    def work(scheme: Scheme, version: QiaVersion):
        steps.check_allowed("panel_decide", by, scheme, version=version)
        if not rules.at_panel(version, scheme):
            raise ActionRefused("This QIA is not at the panel now.")
        steps.expect_revision(version, expected_revision)
        problem = contents.composition_problem(version, by)
        if problem:
            raise ActionRefused(problem)
        missing = contents.unmitigated(negative, mitigation_rows)
        if missing:
            raise ActionRefused(contents.unmitigated_message(missing))
        top, overall, why = _agreed_outcome(cleaned, overall_score, justification)
        steps.write_assessments(version, AssessmentKind.AGREED, cleaned)
        steps.write_mitigations(version, mitigation_rows)
        version.overall_score = overall
        version.overall_justification = why
        version.top_heading = top.heading if top else ""
        version.top_consequence = top.consequence if top else None
        version.top_likelihood = top.likelihood if top else None
        version.top_score = top.score if top else None
        version.agreed_by = by
        version.agreed_for = deputies.on_behalf_of(by)
        version.agreed_at = timezone.now()
        band = band_of(overall)
        summary = (
            f"Panel agreed QIA v{version.number}: overall risk {overall} ({band.label.lower()})."
            if band
            else f"Panel agreed QIA v{version.number}: no negative impact."
        )
        steps.transition(version, "agree", by=by, description=summary)
        steps.touch(version)
        if version.drives_scheme:
            # the agreed risk may take the scheme off its route (qia.routes)
            summary += routes.decide(scheme, version, agreed=True)
        required = routes.required_capacities(version)
        later.append(lambda: steps.tell_signatories(scheme, version, required))
        return summary

    later = steps.Later()
    if QiaVersion.objects.filter(pk=version_id, drives_scheme=True).exists():

        def both(scheme, version):
            summary = work(scheme, version)
            scheme.panel_agree(by=by, description=summary)
            later.run()

        return steps.moving_scheme(version_id, by=by, action="panel_agree", work=both)[1]
    return steps.locked(version_id, by=by, action="panel_decide", work=later.after(work))


def panel_close(*, version_id: int, by: User, decision: str, reason: str) -> QiaVersion:
    """The quality lead returns the QIA for more detail or dismisses it on quality grounds.

    A first assessment takes its scheme back to draft, with a new version for the project
    lead to revise, or rejects it. A re-assessment leaves the scheme as it is: returned, it
    opens a new version; dismissed, it is flagged to QAG.
    """
    if decision not in ("return", "dismiss"):
        raise ActionRefused("Choose to return the QIA or to dismiss it.")
    reason = reason.strip()
    if not reason:
        raise ActionRefused("Say why: the project lead and the record need the reason.")
    what = "returned for more detail" if decision == "return" else "dismissed on quality grounds"

    def work(scheme: Scheme, version: QiaVersion):
        steps.check_allowed("panel_decide", by, scheme, version=version)
        if not rules.at_panel(version, scheme):
            raise ActionRefused("This QIA is not at the panel now.")
        description = f"QIA v{version.number} {what} by the panel: {reason}"
        version.closed_reason = reason
        if decision == "return":
            steps.transition(version, "panel_return", by=by, description=description)
            steps.touch(version)
            steps.open_version(
                version,
                by=by,
                drives_scheme=version.drives_scheme,
                reason=f"Returned by the panel: {reason}",
                from_agreed=False,
            )
            steps.tell_returned(scheme, version, by, description)
        else:
            steps.transition(version, "dismiss", by=by, description=description)
            steps.touch(version)
            if version.drives_scheme:
                emails.scheme_rejected(scheme=scheme, by=by, reason=description)
            else:
                steps.raise_flag(version, scheme, FlagKind.DISMISSED, description)
                notify(
                    users=[*emails.lead_and_sro(scheme), *steps.qag_users(scheme)],
                    scheme=scheme,
                    kind="qia",
                    subject=f"QIA re-assessment dismissed: {scheme.reference} {scheme.title}",
                    message=f"{description} It is flagged to QAG.",
                )
        return description

    if QiaVersion.objects.filter(pk=version_id, drives_scheme=True).exists():
        action = "panel_return" if decision == "return" else "panel_dismiss"

        def both(scheme, version):
            description = work(scheme, version)
            getattr(scheme, action)(by=by, description=description)

        return steps.moving_scheme(version_id, by=by, action=action, work=both)[1]
    return steps.locked(version_id, by=by, action="panel_decide", work=work)
