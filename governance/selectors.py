"""Read-only queries the pages share: the user's tasks, a scheme's history, its actions."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse, reverse_lazy
from django_fsm import can_proceed
from django_fsm_log.models import StateLog

from governance import policy, roles
from governance.models import (
    Review,
    ReviewKind,
    Scheme,
    SchemeChange,
    SchemeDocument,
    SchemeState,
    User,
)
from governance.reference import reference


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


def with_schemes(tasks: list[Task]) -> list[Task]:
    """`tasks` with every scheme loaded (what the task list shows of it), in one query."""
    missing = {task.scheme_id for task in tasks if task.scheme is None}
    if missing:
        schemes = by_id(Scheme, missing, leave_out=LONG_TEXTS)
        reference().attach(schemes.values())
        for task in tasks:
            if task.scheme is None:
                task.scheme = schemes[task.scheme_id]
    return tasks


def _review_tasks(user, kind: str, role: str) -> list[Task]:
    if not user.has_role(role):
        return []
    reviewed = Review.objects.filter(
        scheme=OuterRef("pk"), round=OuterRef("submission_round"), kind=kind
    )
    # a reviewer may have a hundred or more: ids here, the schemes of the page shown later
    waiting = (
        Scheme.objects.filter(
            state=SchemeState.CONFIRM_AND_CHALLENGE,
            organisation_id__in=user.organisation_ids,
        )
        .exclude(Q(project_lead=user) | Q(sro=user))
        .exclude(Exists(reviewed))
        .order_by()  # tasks_for sorts them
        .values_list("pk", "state_changed_at")
    )
    what = f"Record the {ReviewKind(kind).label.lower()} review"
    return [
        Task.on(pk, what, reverse_lazy("scheme_review", args=[pk, kind]), since)
        for pk, since in waiting
    ]


def _project_lead_tasks(user) -> list[Task]:
    schemes = Scheme.objects.filter(project_lead=user, state=SchemeState.DRAFT).select_related(
        "organisation"
    )
    return [
        Task(
            s,
            "Answer the reviewers and resubmit"
            if s.submission_round
            else "Complete and submit the PID",
            s.get_absolute_url(),
            s.state_changed_at or s.created_at,
        )
        for s in schemes
    ]


# Each source lists one kind of work waiting for a user; later apps append their own.
TASK_SOURCES: list[Callable] = [
    _project_lead_tasks,
    lambda user: _review_tasks(user, ReviewKind.FINANCE, roles.FINANCE_REVIEWER),
    lambda user: _review_tasks(user, ReviewKind.CLINICAL, roles.CLINICAL_REVIEWER),
]

# The sources that find work only on schemes whose team the user is on (project lead, SRO,
# clinical or finance lead). Most users lead no scheme: user.on_a_team tells, instead of a
# query each.
TEAM_TASK_SOURCES: set[Callable] = {_project_lead_tasks}


def tasks_for(user) -> list[Task]:
    """Everything waiting for `user`, oldest first; `with_schemes` loads the schemes of those
    shown."""
    tasks = [
        task
        for source in TASK_SOURCES
        if user.on_a_team or source not in TEAM_TASK_SOURCES
        for task in source(user)
    ]
    return sorted(tasks, key=lambda t: (t.since is None, t.since or 0))


@dataclass
class Event:
    at: datetime
    who: object
    what: str
    detail: str = ""
    kind: str = "change"


# Other apps add their own events (QIA scores, returns, escalations): scheme -> [Event].
HISTORY_SOURCES: list[Callable] = []


# The parts of the scheme page that are often empty (no field changed yet, no document, no
# escalation), each asked as an Exists() in the query that loads the scheme: a part that holds
# nothing then costs no query of its own. name -> a function giving the Exists over
# OuterRef("pk"); other apps add theirs.
PAGE_PARTS: dict[str, Callable] = {
    "has_changes": lambda: Exists(SchemeChange.objects.filter(scheme=OuterRef("pk"))),
    "has_documents": lambda: Exists(SchemeDocument.objects.filter(scheme=OuterRef("pk"))),
}


@cache
def for_page() -> QuerySet:
    """Schemes with the scheme page's PAGE_PARTS asked of each. Built once, on the first page
    (every app has added its parts by then): the Exists() cost as much to build as a query
    to run."""
    return Scheme.objects.annotate(**{name: part() for name, part in PAGE_PARTS.items()})


# Stands for the scheme's id while the page's query is compiled (_page_sql).
_ANY_SCHEME = 2_000_000_011


@cache
def _page_sql() -> tuple[str, tuple]:
    """The SQL of for_page() for one scheme, and its parameters but the scheme's id (the last
    one). Compiled once per process: Django took as long to write it as the database takes to
    answer it, on every scheme page."""
    sql, params = for_page().filter(pk=_ANY_SCHEME).order_by().query.sql_with_params()
    if not params or params[-1] != _ANY_SCHEME:
        raise ImproperlyConfigured("The scheme page's query no longer ends with the scheme's id.")
    return sql, tuple(params[:-1])


def scheme_for_page(pk: int) -> Scheme | None:
    """The scheme as for_page() loads it, or None when there is none with this id."""
    sql, params = _page_sql()
    found = list(Scheme.objects.raw(sql, [*params, pk]))
    return found[0] if found else None


# A scheme's texts that may run to 10,000 or 20,000 characters: lists read them only if shown.
LONG_TEXTS = ("description", "closure_delivered", "closure_lessons", "stop_decision")


@cache
def columns_of(model, leave_out: tuple[str, ...] = ()) -> str:
    """The model's own columns but those left out, for a query written out (read as the model
    by Model.objects.raw(); a column left out is read if asked for)."""
    return ", ".join(
        field.column for field in model._meta.concrete_fields if field.name not in leave_out
    )


def by_id(model, ids, *, leave_out: tuple[str, ...] = ()) -> dict:
    """{id: row} of `model` for a page's few ids, every column but those left out, in plain
    SQL: the ORM's in_bulk() took longer to build its query than the database took to answer
    it."""
    ids = sorted(ids)
    if not ids:
        return {}
    marks = ", ".join(["%s"] * len(ids))
    # the model's own table and column names and placeholders only: the ids are parameters
    sql = "SELECT {} FROM {} WHERE id IN ({})".format(  # noqa: S608, UP032  # nosec B608
        columns_of(model, leave_out), model._meta.db_table, marks
    )
    return {row.pk: row for row in model.objects.raw(sql, ids)}


# A scheme's reviews with their reviewers' names, written out for the same reason.
_REVIEWS_SQL = (
    "SELECT r.id, r.scheme_id, r.kind, r.round, r.reviewer_id, r.decision, r.comment,"
    " r.created_at, r.response, r.responded_at, u.username AS reviewer_username,"
    " u.first_name AS reviewer_first_name, u.last_name AS reviewer_last_name"
    " FROM governance_review r INNER JOIN governance_user u ON u.id = r.reviewer_id"
    " WHERE r.scheme_id = %s ORDER BY r.round, r.created_at"
)


def reviews_on_page(scheme: Scheme) -> list[Review]:
    """The scheme's reviews in the model's order, each with `reviewer_name`."""
    reviews = list(Review.objects.raw(_REVIEWS_SQL, [scheme.pk]))
    for review in reviews:
        review.reviewer_name = User.name_of(
            review.reviewer_username, review.reviewer_first_name, review.reviewer_last_name
        )
    return reviews


def holds(scheme: Scheme, part: str) -> bool:
    """Whether a part of the scheme page may hold something: no only when the scheme was
    loaded for_page() and the part is empty."""
    return getattr(scheme, part, True)


def changes_on_page(scheme: Scheme) -> list:
    """The scheme's field changes, newest first, read once for the scheme page: its history
    and its delivery block both show them."""
    if not hasattr(scheme, "_changes"):
        found = scheme.changes.select_related("changed_by") if holds(scheme, "has_changes") else []
        scheme._changes = list(found)
    return scheme._changes


# A scheme's transition log with the name of who made each step, written out: the ORM took
# three times as long to build this query as the database took to answer it.
_LOG_SQL = (
    "SELECT l.id, l.timestamp, l.source_state, l.state, l.description,"
    " u.username AS by_username, u.first_name AS by_first_name, u.last_name AS by_last_name"
    " FROM django_fsm_log_statelog l LEFT JOIN governance_user u ON u.id = l.by_id"
    " WHERE l.content_type_id = %s AND l.object_id = %s ORDER BY l.id"
)


def history(scheme: Scheme) -> list[Event]:
    """The scheme's timeline: transitions, field changes and document uploads, newest first."""
    logs = StateLog.objects.raw(_LOG_SQL, [ContentType.objects.get_for_model(Scheme).pk, scheme.pk])
    states = dict(SchemeState.choices)

    def label(state):
        return states.get(state, state)

    events = [
        Event(
            at=log.timestamp,
            who=None
            if log.by_username is None
            else User.name_of(log.by_username, log.by_first_name, log.by_last_name),
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
    events += [
        Event(
            at=change.changed_at,
            who=change.changed_by,
            what=f"Changed {change.field}",
            detail=f"{change.old_value or '(empty)'} → {change.new_value or '(empty)'}",
        )
        for change in changes_on_page(scheme)
    ]
    for source in HISTORY_SOURCES:
        events += source(scheme)
    return sorted(events, key=lambda e: e.at, reverse=True)


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


# Each source gives (user, scheme) -> Section or None; the scheme page shows them in order.
SECTION_SOURCES: list[Callable] = []


def sections_for(user, scheme: Scheme) -> list[Section]:
    return [section for source in SECTION_SOURCES if (section := source(user, scheme))]


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
