"""Read-only queries the pages share: the user's tasks, a scheme's history, its actions."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.urls import resolve, reverse, reverse_lazy
from django.utils import timezone
from django_fsm import can_proceed
from django_fsm_log.models import StateLog

from governance import deputies, money, policy, roles, text
from governance.models import (
    MONTH_NAMES,
    Delegation,
    Opportunity,
    Review,
    ReviewKind,
    Scheme,
    SchemeState,
    User,
)


def visible_schemes(user) -> QuerySet[Scheme]:
    """The schemes a user may see: the same rule as can_view_scheme, as one query."""
    if not user.is_authenticated or not user.is_active:
        return Scheme.objects.none()
    team = Q(project_lead=user) | Q(sro=user) | Q(clinical_lead=user) | Q(finance_lead=user)
    draft_ok = team
    if user.has_role(roles.PMO):
        draft_ok |= Q(organisation_id__in=user.organisation_ids)
    others = ~Q(state=SchemeState.DRAFT) & Q(organisation__system_id__in=user.system_ids)
    return Scheme.objects.filter(others | team | (Q(state=SchemeState.DRAFT) & draft_ok))


@dataclass
class Task:
    """Work waiting for a user on a scheme. A source with many tasks may give only the
    scheme's id (`Task.on`): the pages load the schemes of the tasks they show
    (`with_schemes`), not those of every task."""

    scheme: Scheme | None
    what: str
    url: str
    since: datetime | None = None
    scheme_id: int | None = None

    def __post_init__(self):
        if self.scheme is not None:
            self.scheme_id = self.scheme.pk

    @classmethod
    def on(cls, scheme_id: int, what: str, url: str, since: datetime | None) -> "Task":
        return cls(None, what, url, since, scheme_id)


# A scheme's texts that may run to 10,000 or 20,000 characters: lists do not show them.
LONG_TEXTS = ("description", "closure_delivered", "closure_lessons", "stop_decision")


def with_schemes(tasks: list[Task]) -> list[Task]:
    """`tasks` with every scheme loaded (what the task list shows of it), in one query."""
    missing = {task.scheme_id for task in tasks if task.scheme is None}
    if missing:
        schemes = Scheme.objects.select_related("organisation").defer(*LONG_TEXTS)
        found = schemes.in_bulk(missing)
        for task in tasks:
            if task.scheme is None:
                task.scheme = found[task.scheme_id]
    return tasks


@dataclass
class Tasks:
    """What a source of tasks finds waiting for a user: the oldest `limit` of them, oldest
    first, and how many there are in all. A page asks for as many as it shows: what it costs
    does not grow with the number of schemes a person is on the team of."""

    items: list[Task]
    total: int


def _order(task: Task):
    return (task.since is None, task.since or 0, task.scheme_id or 0)


def oldest(tasks: list[Task], limit: int) -> Tasks:
    """For a source whose tasks are few whatever the team (an organisation's reviews, a
    system's QAG decisions): all of them, oldest first, cut to the limit."""
    tasks = sorted(tasks, key=_order)
    return Tasks(tasks[:limit], len(tasks))


def _review_tasks(user, kind: str, role: str, limit: int) -> Tasks:
    if not user.has_role(role):
        return Tasks([], 0)
    reviewed = Review.objects.filter(
        scheme=OuterRef("pk"), round=OuterRef("submission_round"), kind=kind
    )
    waiting = (
        Scheme.objects.filter(
            state=SchemeState.CONFIRM_AND_CHALLENGE,
            organisation_id__in=user.organisation_ids,
        )
        .exclude(policy.on_team_of(user))
        .exclude(Exists(reviewed))
    )
    what = f"Record the {ReviewKind(kind).label.lower()} review"
    oldest_first = waiting.order_by(F("state_changed_at").asc(nulls_last=True), "pk")
    return Tasks(
        [
            Task.on(pk, what, reverse_lazy("scheme_review", args=[pk, kind]), since)
            for pk, since in oldest_first.values_list("pk", "state_changed_at")[:limit]
        ],
        waiting.count(),
    )


@dataclass
class Returned:
    """Why a draft came back to its project lead from a step after confirm and challenge:
    the QIA panel asked for more detail, or a signatory declined it for revision."""

    by: str  # "the QIA panel", "the Clinical Chair"
    reason: str
    at: datetime

    @property
    def asked_for(self) -> str:
        return "more detail" if self.by == PANEL else "revision"

    @property
    def task(self) -> str:
        """The project lead's task, in words naming who returned it and why."""
        if self.by == PANEL:
            return f"Add the detail the QIA panel asked for and resubmit: {self.reason}"
        return f"Revise as {self.by} asked and resubmit: {self.reason}"


PANEL = "the QIA panel"
# "QIA v2 declined and returned for revision by the Clinical Chair: <comment>" (qia.services)
_RETURN_DESCRIPTION = re.compile(r"QIA v\d+ .*? by the (?P<who>[^:]+): (?P<reason>.*)", re.DOTALL)


def returns_of(scheme_ids) -> dict[int, Returned]:
    """For each draft of `scheme_ids` whose last step back to draft was the QIA panel's return
    or a declined sign-off, who returned it and why, from its history: one query."""
    logs = (
        StateLog.objects.filter(
            content_type=ContentType.objects.get_for_model(Scheme),
            object_id__in=list(scheme_ids),
            state=SchemeState.DRAFT,
        )
        .exclude(source_state=SchemeState.DRAFT)
        .order_by("object_id", "pk")
    )
    last = {log.object_id: log for log in logs}  # the newest return of each wins
    found = {}
    for pk, log in last.items():
        if log.transition not in ("panel_return", "decline_sign_off"):
            continue  # the reviewers': the submit page asks for an answer to each
        match = _RETURN_DESCRIPTION.match(log.description or "")
        who = match["who"] if match else ""
        reason = match["reason"] if match else (log.description or "")
        by = PANEL if log.transition == "panel_return" or not who else f"the {who}"
        found[pk] = Returned(by, reason.strip(), log.timestamp)
    return found


def returned(scheme: Scheme) -> Returned | None:
    """Who returned this draft after confirm and challenge, and why; None for any other."""
    if scheme.state != SchemeState.DRAFT or not scheme.submission_round:
        return None
    return returns_of([scheme.pk]).get(scheme.pk)


def _project_lead_tasks(user, limit: int) -> Tasks:
    drafts = Scheme.objects.filter(project_lead=user, state=SchemeState.DRAFT)
    oldest_first = list(
        drafts.annotate(since=Coalesce("state_changed_at", "created_at"))
        .order_by("since", "pk")
        .select_related("organisation")
        .defer(*LONG_TEXTS)[:limit]
    )
    returns = returns_of(s.pk for s in oldest_first if s.submission_round)

    def what(scheme: Scheme) -> str:
        if scheme.pk in returns:
            return returns[scheme.pk].task
        if scheme.submission_round:
            return "Answer the reviewers and resubmit"
        return "Complete and submit the PID"

    return Tasks(
        [Task(s, what(s), s.get_absolute_url(), s.since) for s in oldest_first],
        drafts.count(),
    )


# Each source lists one kind of work waiting for a user, as source(user, limit) -> Tasks;
# later apps append their own.
TASK_SOURCES: list[Callable] = [
    _project_lead_tasks,
    lambda user, limit: _review_tasks(user, ReviewKind.FINANCE, roles.FINANCE_REVIEWER, limit),
    lambda user, limit: _review_tasks(user, ReviewKind.CLINICAL, roles.CLINICAL_REVIEWER, limit),
]

# The sources that find work only on schemes whose team the user is on (project lead, SRO,
# clinical or finance lead). Most users lead no scheme: user.on_a_team tells, instead of a
# query each.
TEAM_TASK_SOURCES: set[Callable] = {_project_lead_tasks}
# The sources of work given to a person by name (a condition they own): never a deputy's.
PERSONAL_TASK_SOURCES: set[Callable] = set()


def tasks_for(user, limit: int, *, delegated: bool = False) -> Tasks:
    """The oldest `limit` tasks waiting for `user`, and how many wait in all; `with_schemes`
    loads the schemes of those shown. `delegated`: only the tasks of their roles, which a
    deputy may take for them (not their team's, nor those given to them by name)."""
    found = [
        source(user, limit)
        for source in TASK_SOURCES
        if (user.on_a_team and not delegated or source not in TEAM_TASK_SOURCES)
        and not (delegated and source in PERSONAL_TASK_SOURCES)
    ]
    items = sorted((task for tasks in found for task in tasks.items), key=_order)
    return Tasks(items[:limit], sum(tasks.total for tasks in found))


# How many of a principal's tasks a deputy's inbox lists under their name.
DEPUTY_TASKS_SHOWN = 20


@dataclass
class DeputyTasks:
    """The tasks of someone away that their deputy may act on, each link marked "for" them."""

    delegation: Delegation
    tasks: list[Task]
    total: int


def _for(url, delegation: Delegation) -> str:
    """The task's address, opened as the delegation's deputy (governance.deputies)."""
    url = str(url)
    path, hash_, fragment = url.partition("#")
    joiner = "&" if "?" in path else "?"
    return f"{path}{joiner}for={delegation.pk}{hash_}{fragment}"


def deputy_tasks(user) -> list[DeputyTasks]:
    """For each delegation the user holds today: the principal's tasks of the delegated role
    in its organisation, without those on schemes whose team the deputy is on (they may not
    act on those)."""
    found = []
    for delegation in deputies.held_by(user):
        # the principal as they are for this role only: their other roles' tasks, their
        # team's and those given to them by name are not delegated
        principal = delegation.principal
        principal.__dict__["role_names"] = {delegation.role}
        theirs = tasks_for(principal, DEPUTY_TASKS_SHOWN * 2, delegated=True).items
        theirs = with_schemes(theirs)
        tasks = [
            Task(task.scheme, task.what, _for(task.url, delegation), task.since)
            for task in theirs
            if delegation.covers(task.scheme)
            and user.pk not in task.scheme.team_ids
            and resolve(urlsplit(str(task.url)).path).url_name in deputies.DEPUTY_PAGES
        ]
        found.append(DeputyTasks(delegation, tasks[:DEPUTY_TASKS_SHOWN], len(tasks)))
    return found


# A changed text longer than this (a PID's description) shows cut short in the history.
LONG_CHANGE = 200
# A long text that keeps at least this share of its words shows what changed word by word.
MOSTLY_KEPT = 0.5
# Field changes recorded by one person within this time of the first are one save, unless a
# field comes again: one save changes a field once (the history keeps no save number).
ONE_SAVE = timedelta(seconds=1)


@dataclass
class FieldChange:
    """One field's change within a save, as the history shows it."""

    field: str
    old: str
    new: str

    @property
    def long(self) -> bool:
        """Too long to show whole in the timeline: shown cut short, the rest on request."""
        return max(len(self.old), len(self.new)) > LONG_CHANGE

    @property
    def diff(self) -> list[tuple[str, str]]:
        """(op, text) pairs, word by word, that the template marks as <del> and <ins>; none
        for a text mostly rewritten, whose marks would be a patchwork: the page shows it
        before and after instead."""
        pairs = text.word_diff(self.old, self.new)
        kept = sum(len(piece) for op, piece in pairs if op == "equal")
        return pairs if kept >= max(len(self.old), len(self.new)) * MOSTLY_KEPT else []


@dataclass
class Event:
    at: datetime
    who: object
    what: str
    detail: str = ""
    kind: str = "change"
    changes: list[FieldChange] = field(default_factory=list)  # of one save, in field order


# Other apps add their own events (QIA scores, returns, escalations): scheme -> [Event].
HISTORY_SOURCES: list[Callable] = []


def history(scheme: Scheme) -> list[Event]:
    """The scheme's timeline, newest first: transitions, field changes (one entry per save)
    and document uploads, ending with its creation."""
    logs = StateLog.objects.for_(scheme).select_related("by").order_by("pk")
    states = dict(SchemeState.choices)

    def label(state):
        return states.get(state, state)

    events = [
        Event(
            at=log.timestamp,
            who=log.by,
            what=(
                f"{label(log.source_state)} → {label(log.state)}"
                if log.source_state != log.state
                else label(log.state)
            ),
            detail=log.description or "",
            kind="transition",
        )
        for log in logs
    ]
    events += _saves(scheme.changes.select_related("changed_by").order_by("pk"))
    for source in HISTORY_SOURCES:
        events += source(scheme)
    # The creation comes first in time whatever the timestamps say: an entry saved in the
    # same instant must not sort before it. Only the opportunity it was written up from
    # (governance.pipeline) has entries from before it.
    created = _created(scheme)
    newest_first = sorted(events, key=lambda e: e.at, reverse=True)
    before = [e for e in newest_first if e.kind == "opportunity" and e.at < created.at]
    return [e for e in newest_first if e not in before] + [created] + before


def _saves(changes) -> list[Event]:
    """The field changes as one entry per save: "Changed title", or "Changed 4 fields" listing
    each. A save is a run of changes by one person in the same second, each field once."""
    saves: list[list] = []
    for change in changes:
        last = saves[-1] if saves else None
        if (
            last
            and change.changed_by_id == last[0].changed_by_id
            and change.changed_at - last[0].changed_at < ONE_SAVE
            and change.field not in {c.field for c in last}
        ):
            last.append(change)
        else:
            saves.append([change])
    return [
        Event(
            at=save[0].changed_at,
            who=save[0].changed_by,
            what=f"Changed {save[0].field}" if len(save) == 1 else f"Changed {len(save)} fields",
            changes=[FieldChange(c.field, c.old_value, c.new_value) for c in save],
        )
        for save in saves
    ]


def _created(scheme: Scheme) -> Event:
    """The oldest entry of every scheme's history: who made it, and how."""
    if scheme.carried_from_id is not None:
        # made by the PMO from last year's scheme (governance.delivery.carry)
        original = scheme.carried_from
        return Event(
            at=scheme.created_at,
            who=scheme.created_by,
            what=(
                f"Carried from {original.reference} "
                f"(full-year effect {money.saving(original.full_year_effect)})"
            ),
            detail=(
                f"The recurrent saving of {original.reference} over a whole year is this "
                f"scheme's plan, approved as {original.reference} was; its project lead "
                "confirms the plan or changes its months."
            ),
            kind="transition",
        )
    if not scheme.imported_from:
        return Event(at=scheme.created_at, who=scheme.created_by, what="Created", kind="transition")
    return Event(
        at=scheme.created_at,
        who=scheme.created_by,
        what="Imported",
        detail=(
            f"Loaded from {scheme.imported_from} as a past year's scheme, as it "
            "stood, without review, QIA or sign-off here."
            if scheme.imported_historical
            else f"Created as a draft from {scheme.imported_from}."
        ),
        kind="transition",
    )


@dataclass
class Action:
    label: str
    url: str
    style: str = "primary"


# Other apps add the buttons of their own actions: each source gives (user, scheme) -> [Action].
ACTION_SOURCES: list[Callable] = []


@dataclass
class Section:
    """A block another app adds to the scheme page: a template and its context."""

    template: str
    context: dict


# Each source gives (user, scheme, as_at_month) -> Section or None; the scheme page shows them
# in order. as_at_month is the one month of the scheme's year the page's figures are as at.
SECTION_SOURCES: list[Callable] = []


def sections_for(user, scheme: Scheme, as_at_month: int) -> list[Section]:
    return [section for source in SECTION_SOURCES if (section := source(user, scheme, as_at_month))]


def actions_for(user, scheme: Scheme) -> list[Action]:
    """The buttons this user may press on this scheme now."""
    found = []
    if policy.refusal("edit", user, scheme) is None:
        found.append(
            Action("Edit PID", reverse("scheme_edit", args=[scheme.pk]), "outline-primary")
        )
    candidates = [
        (
            "submit",
            "Submit for confirm and challenge",
            reverse("scheme_submit", args=[scheme.pk]),
            "primary",
        ),
        (
            "finance_review",
            "Record financial review",
            reverse("scheme_review", args=[scheme.pk, "finance"]),
            "primary",
        ),
        (
            "clinical_review",
            "Record clinical review",
            reverse("scheme_review", args=[scheme.pk, "clinical"]),
            "primary",
        ),
        ("withdraw", "Withdraw", reverse("scheme_withdraw", args=[scheme.pk]), "outline-danger"),
    ]
    for action, label, url, style in candidates:
        if not can_proceed(getattr(scheme, action)):
            continue
        if policy.refusal(action, user, scheme) is not None:
            continue
        if (
            action.endswith("_review")
            and scheme.reviews.filter(
                round=scheme.submission_round, kind=action.removesuffix("_review")
            ).exists()
        ):
            continue
        found.append(Action(label, url, style))
    for source in ACTION_SOURCES:
        found.extend(source(user, scheme))
    return found


# --- judgements by the scheme's own team ---


@dataclass
class Judgement:
    """Someone judged the scheme in a step its team may not take: a review, a score, a
    sign-off, an assured return, a QAG decision."""

    who: object  # User
    what: str  # "recorded the finance review"
    at: datetime


# Other apps add the judgements of their own steps (QIA scores and sign-offs, QAG
# decisions), as source(scheme, team_ids) -> [Judgement] of those people only.
JUDGEMENT_SOURCES: list[Callable] = []


def _reviews_by(scheme: Scheme, team_ids: set[int]) -> list[Judgement]:
    reviews = scheme.reviews.filter(reviewer_id__in=team_ids).select_related("reviewer")
    return [
        Judgement(r.reviewer, f"recorded the {r.get_kind_display().lower()} review", r.created_at)
        for r in reviews
    ]


def _assurances_by(scheme: Scheme, team_ids: set[int]) -> list[Judgement]:
    assured = scheme.returns.filter(assured_by_id__in=team_ids).select_related("assured_by")
    return [
        Judgement(r.assured_by, f"assured the month {r.month} return", r.assured_at)
        for r in assured
    ]


def judged_by_own_team(scheme: Scheme) -> list[str]:
    """What someone now on the scheme's team judged before they joined it. It stands (a
    change of team undoes nothing), but the scheme page says so, in words."""
    team_ids = scheme.team_ids
    if not team_ids:
        return []
    sources = [_reviews_by, _assurances_by, *JUDGEMENT_SOURCES]
    found = sorted((j for source in sources for j in source(scheme, team_ids)), key=lambda j: j.at)
    return [
        f"{j.who} {j.what} on {timezone.localtime(j.at):%-d %B %Y} and is now this scheme's "
        f"{policy.team_place(j.who, scheme)}."
        for j in found
    ]


# --- the PID's plan, checked as a finance reviewer would ---


def plan_warnings(scheme: Scheme) -> list[str]:
    """What looks wrong in the PID's savings plan, in words: a plan of nothing, savings in
    months before the scheme starts, a start date years away from its financial year. Shown
    on the scheme page, the submit page and the case beside each decision; none of them stops
    the PID being saved (the PID form refuses the start dates that cannot be right:
    governance.forms.start_date_problem)."""
    year = scheme.financial_year
    plan = scheme.plan
    if not any(plan):
        return ["The savings plan is £0 in every month."]
    found = []
    early = [
        month
        for month, amount in enumerate(plan, 1)
        if amount and year.month_start(month) < scheme.start_date.replace(day=1)
    ]
    if early:
        months = ", ".join(MONTH_NAMES[month - 1] for month in early)
        saving = money.pounds(sum((plan[month - 1] for month in early), Decimal(0)))
        found.append(
            f"{saving} of the plan falls in {months}, before the scheme starts on "
            f"{scheme.start_date:%-d %B %Y}."
        )
    if not year.start_date.replace(year=year.start_year - 1) <= scheme.start_date:
        found.append(
            f"The start date, {scheme.start_date:%-d %B %Y}, is more than a year before "
            f"{year.label} begins."
        )
    elif scheme.start_date > year.end_date:
        found.append(
            f"The start date, {scheme.start_date:%-d %B %Y}, is after {year.label} ends: the "
            "plan's months would save nothing."
        )
    return found


# --- the PID's team, checked against who could review it ---


def team_warnings(scheme: Scheme) -> list[str]:
    """Each review nobody could record because every reviewer of the scheme's organisation is
    on its team (nobody judges their own scheme): shown while the PID is a draft, when another
    team can still be chosen."""
    found = []
    for role, review in (
        (roles.FINANCE_REVIEWER, "financial review"),
        (roles.CLINICAL_REVIEWER, "clinical review"),
    ):
        reviewers = list(
            User.objects.filter(
                is_active=True, organisations=scheme.organisation_id, groups__name=role
            ).distinct()
        )
        on_team = [user for user in reviewers if user.pk in scheme.team_ids]
        if reviewers and len(on_team) == len(reviewers):
            names = "; ".join(f"{user}, its {policy.team_place(user, scheme)}" for user in on_team)
            found.append(
                f"Every {role.lower()} of {scheme.organisation.code} is on this scheme's team "
                f"({names}), so nobody could record its {review}: choose someone else for the "
                "team, or ask an administrator for another reviewer."
            )
    return found


# --- who changed a field, for the edit forms' "changed meanwhile" ---


def last_changed_by(scheme: Scheme, fields) -> dict[str, User]:
    """Who last changed each of the PID's `fields` (model field names), by its history; a
    field the history has no change of is left out."""
    names = {str(Scheme._meta.get_field(name).verbose_name): name for name in fields}
    found = {}
    changes = scheme.changes.filter(field__in=names).select_related("changed_by")
    for change in changes.order_by("-changed_at", "-pk"):
        found.setdefault(names[change.field], change.changed_by)
    return found


def opportunity_last_changed_by(opportunity: Opportunity, fields) -> dict[str, User]:
    """Who last changed each of the opportunity's `fields` (model field names), by its
    history, whose entries list each change as "Label: old → new"; a field it does not
    mention is left out."""
    labels = {
        str(Opportunity._meta.get_field(name).verbose_name).capitalize(): name for name in fields
    }
    found = {}
    for event in opportunity.events.select_related("by").order_by("-at", "-pk"):
        for line in event.detail.splitlines():
            label = line.partition(":")[0]
            if label in labels and " → " in line:
                found.setdefault(labels[label], event.by)
    return found
