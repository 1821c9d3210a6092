"""What the QIA adds to the scheme pages: its tasks in the inbox, its block on the scheme page
and its events in the scheme's history (listed in QiaConfig.ready())."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import F, Max, Min, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django_fsm_log.models import StateLog

from governance import policy, roles, selectors
from governance.models import Scheme, SchemeChange, SchemeState, User
from qia import policy as rules
from qia import services
from qia.models import (
    Capacity,
    PanelScore,
    QiaVersion,
    SignOff,
    VersionStatus,
)
from qia.selectors import may, newest_on_page, stage
from qia.services import steps


def panel_tasks(user, limit: int) -> selectors.Tasks:
    if not (user.has_role(roles.PANEL_MEMBER) or user.has_role(roles.QUALITY_LEAD)):
        return selectors.Tasks([], 0)
    versions = (
        QiaVersion.objects.filter(qia__scheme__organisation_id__in=user.organisation_ids)
        .filter(
            Q(status=VersionStatus.PANEL)
            | Q(
                drives_scheme=True,
                status=VersionStatus.SELF_ASSESSMENT,
                qia__scheme__state=SchemeState.QIA_PANEL,
            )
        )
        .exclude(policy.on_team_of(user, "qia__scheme__"))
        .select_related("qia__scheme__organisation")
    )
    scored = set(
        PanelScore.objects.filter(member=user, version__in=versions).values_list(
            "version_id", flat=True
        )
    )
    chair = user.has_role(roles.QUALITY_LEAD)
    tasks = []
    for version in versions:
        scheme = version.qia.scheme
        since = scheme.state_changed_at if version.drives_scheme else version.created_at
        if version.pk not in scored:
            tasks.append(
                selectors.Task(
                    scheme,
                    f"Score the QIA (version {version.number})",
                    reverse("qia_score", args=[scheme.pk]),
                    since,
                )
            )
        elif chair:
            tasks.append(
                selectors.Task(
                    scheme,
                    _agree_task(version, user),
                    reverse("qia_agree", args=[scheme.pk]),
                    since,
                )
            )
    return selectors.oldest(tasks, limit)


def _agree_task(version: QiaVersion, chair: User) -> str:
    """The quality lead's task once they have scored: to agree, when the panel is complete as
    the agree page counts it (services.composition_problem), else to wait for the scores."""
    if services.composition_problem(version, chair) is None:
        return "Agree the QIA at panel"
    scorers = version.panel_scores.values("member_id").distinct().order_by().count()
    needed = 1 + steps.setting("QIA_PANEL_MIN_OTHER_MEMBERS", 2)
    if scorers < needed:
        return f"Waiting for panel scores ({scorers} of {needed})"
    return "Waiting for panel scores from another profession"


def sign_off_tasks(user, limit: int) -> selectors.Tasks:
    if not rules.capacities_held(user):
        return selectors.Tasks([], 0)
    versions = QiaVersion.objects.filter(
        status=VersionStatus.AWAITING_SIGN_OFF,
        qia__scheme__organisation_id__in=user.organisation_ids,
    ).select_related("qia__scheme__organisation")
    tasks = []
    for version in versions:
        scheme = version.qia.scheme
        if not may("sign_off", user, scheme, version=version):
            continue
        capacity = rules.open_capacities(user, version)[0]
        tasks.append(
            selectors.Task(
                scheme,
                f"Sign off the QIA as {Capacity(capacity).label}",
                reverse("qia_sign_off", args=[scheme.pk]),
                version.agreed_at,
            )
        )
    return selectors.oldest(tasks, limit)


def qag_approval_tasks(user, limit: int) -> selectors.Tasks:
    """Schemes signed off on the route that asks QAG to approve them next, for the QAG
    members of their system (not on their team)."""
    if not user.has_role(roles.QAG_MEMBER):
        return selectors.Tasks([], 0)
    waiting = Scheme.objects.filter(
        state=SchemeState.AWAITING_QAG, organisation__system_id__in=user.system_ids
    ).exclude(policy.on_team_of(user))
    oldest_first = waiting.order_by(F("state_changed_at").asc(nulls_last=True), "pk")
    return selectors.Tasks(
        [
            selectors.Task.on(
                pk, "Record QAG's approval", reverse("qia_qag_approval", args=[pk]), since
            )
            for pk, since in oldest_first.values_list("pk", "state_changed_at")[:limit]
        ],
        waiting.count(),
    )


def project_lead_tasks(user, limit: int) -> selectors.Tasks:
    """The project lead's re-assessments: those open, and those due. In a fixed number of
    queries, whatever the number of schemes they lead."""
    open_reassessments = QiaVersion.objects.filter(
        drives_scheme=False,
        status=VersionStatus.SELF_ASSESSMENT,
        qia__scheme__project_lead=user,
        qia__scheme__state__in=rules.REASSESSABLE,
    )
    tasks = [
        selectors.Task(
            version.qia.scheme,
            "Complete the QIA re-assessment and send it to the panel",
            reverse("qia_detail", args=[version.qia.scheme_id]),
            version.created_at,
        )
        for version in open_reassessments.select_related("qia__scheme__organisation").order_by(
            "created_at", "pk"
        )[:limit]
    ]
    due = _due_reassessments(user)
    tasks += due
    return selectors.Tasks(
        selectors.oldest(tasks, limit).items, open_reassessments.count() + len(due)
    )


def _due_reassessments(user) -> list[selectors.Task]:
    """A task for each scheme the user leads whose newest QIA version is signed off and due
    for re-assessment (services.reassessment_due, for all of them at once)."""
    newest = QiaVersion.objects.filter(qia__scheme=OuterRef("pk")).order_by("-number")
    signed = (
        Scheme.objects.filter(project_lead=user, state__in=rules.REASSESSABLE)
        .annotate(newest_id=Subquery(newest.values("pk")[:1]))
        .filter(
            newest_id__in=QiaVersion.objects.filter(status=VersionStatus.SIGNED_OFF).values("pk")
        )
        .select_related("organisation")
        .defer(*selectors.LONG_TEXTS)
    )
    schemes = list(signed)
    if not schemes:
        return []
    versions = QiaVersion.objects.in_bulk([s.newest_id for s in schemes])
    today = timezone.localdate()
    due = [
        (scheme, versions[scheme.newest_id], reasons)
        for scheme in schemes
        if (reasons := services.due_reasons(versions[scheme.newest_id], scheme, today))
    ]
    # when each one's plan last changed, for those due for a changed plan: one query
    changed = [s.pk for s, v, _ in due if services.material_change_percent(v, s) is not None]
    plan_changes = dict(
        SchemeChange.objects.filter(scheme_id__in=changed, field__in=services.PLAN_LABELS)
        .values("scheme_id")
        .annotate(at=Max("changed_at"))
        .values_list("scheme_id", "at")
    )
    return [
        selectors.Task(
            scheme,
            "Re-assess the QIA: " + "; ".join(reasons),
            reverse("qia_reassess", args=[scheme.pk]),
            # since it became due, not the review date: that may be still to come
            services.due_since(
                version, scheme, plan_changed=plan_changes.get(scheme.pk), looked_up=True
            ),
        )
        for scheme, version, reasons in due
    ]


def scheme_section(user, scheme: Scheme, as_at_month: int) -> selectors.Section | None:
    version = newest_on_page(scheme)
    if version is None and scheme.state != SchemeState.DRAFT:
        return None
    context = {"scheme": scheme, "version": version}
    if version is not None:
        code, label = stage(version, scheme)
        signed = (
            version.qia.versions.filter(status=VersionStatus.SIGNED_OFF).order_by("-number").first()
        )
        _due_version, due = services.reassessment_due(scheme)
        context.update(
            {
                "stage": code,
                "stage_label": label,
                "signed": signed,
                "due": due,
                "flags": list(version.qia.scheme.qia_flags.select_related("version")[:3]),
                "problems": services.self_assessment_problems(version)
                if version.status == VersionStatus.SELF_ASSESSMENT
                else [],
            }
        )
    context["may_edit"] = may("qia_edit", user, scheme, version=version)
    return selectors.Section("qia/_section.html", context)


def scheme_events(scheme: Scheme) -> list[selectors.Event]:
    """The QIA's part of the scheme timeline. A first assessment's panel and sign-off steps
    are in the scheme's own log; a re-assessment's are here."""
    versions = list(QiaVersion.objects.filter(qia__scheme=scheme).select_related("created_by"))
    if not versions:
        return []
    events = [
        selectors.Event(
            at=v.created_at,
            who=v.created_by,
            what=f"QIA version {v.number} opened",
            detail=v.opened_reason,
            kind="qia",
        )
        for v in versions
    ]
    first_scores = (
        PanelScore.objects.filter(version__in=versions)
        .values("version__number", "member")
        .annotate(at=Min("created_at"))
        .order_by()
    )
    members = User.objects.in_bulk({row["member"] for row in first_scores})
    events += [
        selectors.Event(
            at=row["at"],
            who=members.get(row["member"]),
            what=f"QIA version {row['version__number']} scored by a panel member",
            kind="qia",
        )
        for row in first_scores
    ]
    labels = dict(VersionStatus.choices)
    reassessments = [v.pk for v in versions if not v.drives_scheme]
    logs = StateLog.objects.filter(
        content_type=ContentType.objects.get_for_model(QiaVersion), object_id__in=reassessments
    ).select_related("by")
    events += [
        selectors.Event(
            at=log.timestamp,
            who=log.by,
            what=(
                f"QIA re-assessment: {labels.get(log.source_state, log.source_state)} → "
                f"{labels.get(log.state, log.state)}"
            ),
            detail=log.description or "",
            kind="transition",
        )
        for log in logs
    ]
    events += [
        selectors.Event(
            at=flag.raised_at,
            who=None,
            what=f"QIA flagged to QAG: {flag.get_kind_display().lower()}",
            detail=flag.detail,
            kind="qia",
        )
        for flag in scheme.qia_flags.all()
    ]
    return events


def judgements(scheme, team_ids: set[int]) -> list[selectors.Judgement]:
    """The QIA's scores, agreements and sign-offs recorded by these people (the scheme's
    team now) on this scheme: the scheme page flags them."""
    found = []
    scores = (
        PanelScore.objects.filter(version__qia__scheme=scheme, member_id__in=team_ids)
        .select_related("member", "version")
        .order_by("created_at")
    )
    seen = set()
    for score in scores:  # one line per member and version, not per heading
        if (score.version_id, score.member_id) not in seen:
            seen.add((score.version_id, score.member_id))
            what = f"scored QIA version {score.version.number}"
            found.append(selectors.Judgement(score.member, what, score.created_at))
    agreed = QiaVersion.objects.filter(qia__scheme=scheme, agreed_by_id__in=team_ids)
    for version in agreed.select_related("agreed_by"):
        what = f"agreed QIA version {version.number} at panel"
        found.append(selectors.Judgement(version.agreed_by, what, version.agreed_at))
    signed = SignOff.objects.filter(version__qia__scheme=scheme, by_id__in=team_ids)
    for sign_off in signed.select_related("by", "version"):
        what = (
            f"signed off QIA version {sign_off.version.number} as {sign_off.get_capacity_display()}"
        )
        found.append(selectors.Judgement(sign_off.by, what, sign_off.at))
    return found
