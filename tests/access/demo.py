"""The demo world the access walk and the fuzzing act in: `seed_demo`, plus what it does not
make (a re-assessment under way, escalations, documents, users of other organisations).

Built once per test module inside a transaction that is rolled back at the end, so it costs
one seed per module; each test runs in a savepoint inside it.
"""

import html
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie
from io import StringIO

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.messages import constants, get_messages
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_fsm_log.models import StateLog

from governance import roles
from governance.models import (
    AuditExport,
    Delegation,
    DelegationEvent,
    ImportRun,
    ImportStatus,
    MonthlyReturn,
    Organisation,
    Review,
    Scheme,
    SchemeChange,
    SchemeDocument,
    SchemeState,
    System,
    User,
)
from notifications.models import (
    Escalation,
    EscalationEvent,
    EscalationStatus,
    Level,
    Notification,
    QagListEntry,
    QagMeeting,
    QagPack,
    Rule,
)
from qia import services as qia
from qia.models import (
    Assessment,
    Condition,
    ConditionSource,
    FlagKind,
    Mitigation,
    PanelScore,
    QagFlag,
    QiaVersion,
    SignOff,
)
from tests.access.table import FREE_MONTH
from tests.factories import add_document

# The ELR schemes the cases name, by their demo titles.
SCHEMES = {
    "draft": "Community nursing redesign",
    "challenge": "MSK pathway redesign",
    "panel": "Out-of-area mental health placements",
    "signing": "Wound care formulary",
    "approved": "Discharge to assess",
    "delivery": "Outpatient follow-up reduction",
    "reassessing": "Medicines optimisation programme",
    "off_track": "CHC care package review",
}


@dataclass
class Demo:
    objects: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    sessions: dict = field(default_factory=dict)

    clients: dict = field(default_factory=dict)

    def client(self, who: str) -> Client:
        """A client signed in as `who` ("anon": not signed in), with nothing but its session.
        One per person: a new client sets up the whole middleware stack again."""
        client = self.clients.setdefault(who, Client())
        client.cookies = SimpleCookie()
        if who != "anon":
            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[who]
        return client


def _user_with_every_role(username: str, organisation: Organisation) -> User:
    user = User.objects.create_user(
        username, email=f"{username}@example.nhs.uk", first_name=username.title()
    )
    user.groups.add(*Group.objects.filter(name__in=roles.ALL))
    user.organisations.add(organisation)
    return user


def _attach(version: QiaVersion) -> QiaVersion:
    version.eqia_document.save("eqia.pdf", ContentFile(b"%PDF-1.4 demo\n"), save=False)
    version.eqia_document_name = "eqia.pdf"
    version.eqia_content_type = "application/pdf"
    QiaVersion.objects.filter(pk=version.pk).update(
        eqia_document=version.eqia_document.name,
        eqia_document_name=version.eqia_document_name,
        eqia_content_type=version.eqia_content_type,
    )
    return version


def build() -> Demo:
    call_command("seed_demo", stdout=StringIO())
    users = {user.username: user for user in User.objects.all()}
    wl = Organisation.objects.get(code="WL")
    far_system = System.objects.create(code="NOT", name="Nottinghamshire")
    far = Organisation.objects.create(code="NN", name="Nottingham North CCG", system=far_system)
    users["wl-all"] = _user_with_every_role("wl-all", wl)
    users["far-all"] = _user_with_every_role("far-all", far)

    schemes = {
        key: Scheme.objects.get(organisation__code="ELR", title=title)
        for key, title in SCHEMES.items()
    }
    qia.reassessment_open(
        scheme_id=schemes["reassessing"].pk,
        by=users["elr-quality-lead"],
        reason="The hub now covers care homes too.",
    )
    # the seed returns every month up to last month: leave one that has begun for a new return
    MonthlyReturn.objects.filter(scheme=schemes["delivery"], month=FREE_MONTH).delete()
    now = timezone.now()
    # the seed's returns may have raised some already: one of each level, on the same scheme
    escalation, _ = Escalation.objects.update_or_create(
        scheme=schemes["off_track"],
        rule=Rule.OFF_TRACK,
        defaults={
            "level": Level.PMO,
            "status": EscalationStatus.OPEN,
            "owner": users["elr-sro"],
            "reason": "RAG red: 140 of 310 reviews done.",
            "raised_at": now - timedelta(days=3),
            "last_fired_at": now,
            # the seed's PMO raised it to QAG: here it is still with the PMO
            "raised_to_qag_at": None,
            "raised_to_qag_by": None,
        },
    )
    qag_escalation, _ = Escalation.objects.update_or_create(
        scheme=schemes["off_track"],
        rule=Rule.MISSING_RETURN,
        defaults={
            "level": Level.QAG,
            "status": EscalationStatus.OPEN,
            "owner": users["elr-sro"],
            "reason": "A monthly return is missing.",
            "raised_at": now - timedelta(days=40),
            "last_fired_at": now,
            "raised_to_qag_at": now - timedelta(days=2),
        },
    )
    notice = Notification.objects.create(
        user=users["elr-project-lead"],
        scheme=schemes["draft"],
        kind="demo",
        subject="Your PID was returned",
        url=reverse("scheme_detail", args=[schemes["draft"].pk]),
    )
    draft_version = QiaVersion.objects.get(qia__scheme=schemes["draft"], number=1)
    # a row in each QAG table, so that the admin shows a record of each
    llr = System.objects.get(code="LLR")
    QagListEntry.objects.create(system=llr, user=users["elr-qag-member"])
    QagMeeting.objects.get_or_create(system=llr, date=now.date() + timedelta(days=7))
    QagPack.objects.create(system=llr, meeting_date=now.date(), assembled_at=now)
    signing_version = QiaVersion.objects.get(qia__scheme=schemes["signing"], number=1)
    QagFlag.objects.get_or_create(
        version=signing_version,
        kind=FlagKind.values[0],
        defaults={"scheme": schemes["signing"], "detail": "A high risk."},
    )
    import_run = ImportRun.objects.create(
        kind="returns",
        name="returns.csv",
        file=ContentFile(b"reference,month,actual\n", name="returns.csv"),
        by=users["elr-pmo"],
        organisation_ids=[schemes["delivery"].organisation_id],
        created_at=now,
        status=ImportStatus.REFUSED,
        error_count=1,
        first_errors=["row 2: no scheme has the reference 'X'"],
        all_errors=ContentFile(b"row,problem\n2,no scheme\n", name="returns-errors.csv"),
    )
    # the seed has no scheme on a route to QAG's approval: one, copied from the approved one
    copied = Scheme.objects.filter(pk=schemes["approved"].pk).values()[0]
    del copied["id"]
    copied.update(
        reference=f"{copied['reference']}-Q",
        sequence=copied["sequence"] + 900,
        title="Waiting for QAG's approval",
        state=SchemeState.AWAITING_QAG,
    )
    awaiting_qag = Scheme.objects.create(**copied)
    # a condition of the scheme in delivery's approval, owned by the quality lead, and one met
    condition, met_condition = (
        Condition.objects.create(
            scheme=schemes["delivery"],
            source=ConditionSource.SIGN_OFF,
            text=text,
            owner=users["elr-quality-lead"],
            due_on=now.date() + timedelta(days=30),
            set_by=users["elr-chief-nurse"],
        )
        for text in ("Audit the first 50 discharges.", "Brief the care homes.")
    )
    Condition.objects.filter(pk=met_condition.pk).update(
        met_at=now, met_by=users["elr-quality-lead"], evidence="Briefed on 3 June.", version=2
    )
    objects = {
        **schemes,
        "condition": condition,
        "met_condition": met_condition,
        "awaiting_qag": awaiting_qag,
        "import_run": import_run,
        "escalation": escalation,
        "qag_escalation": qag_escalation,
        "notice": notice,
        "draft_document": add_document(schemes["draft"], users["elr-project-lead"]),
        "delivery_document": add_document(schemes["delivery"], users["elr-project-lead"]),
        "draft_version": _attach(draft_version),
    }
    demo = Demo(objects=objects, users=users)
    client = Client()
    for username, user in users.items():
        client.force_login(user)
        demo.sessions[username] = client.cookies[settings.SESSION_COOKIE_NAME].value
        client.cookies = SimpleCookie()
    return demo


def seeded(django_db_blocker):
    """The body of a module-scoped fixture: the demo, rolled back when the module is done."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build()
        transaction.set_rollback(True)


COUNTED = [
    AuditExport,  # an audit export is on record: the one thing it changes
    Review,
    Delegation,
    DelegationEvent,
    SchemeDocument,
    SchemeChange,
    StateLog,
    Assessment,
    PanelScore,
    SignOff,
    Mitigation,
    EscalationEvent,
    QagFlag,
    User,
    Scheme,
]


def fingerprint() -> tuple:
    """What a user's action could have changed, to show that a refused one changed nothing."""
    tables = [connection.ops.quote_name(m._meta.db_table) for m in COUNTED]
    counts = ", ".join(f"(SELECT COUNT(*) FROM {table})" for table in tables)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")  # our own table names, quoted
        row = cursor.fetchone()
    return (
        tuple(row),
        list(Scheme.objects.order_by("pk").values_list("pk", "state", "version", "title")),
        list(
            MonthlyReturn.objects.order_by("pk").values_list(
                "pk", "actual", "forecast_outturn", "pmo_assured", "assured_at"
            )
        ),
        list(QiaVersion.objects.order_by("pk").values_list("pk", "status", "revision")),
        list(
            Escalation.objects.order_by("pk").values_list(
                "pk", "status", "level", "remedial_action", "decision"
            )
        ),
        Notification.objects.filter(read_at__isnull=True).count(),
        list(Condition.objects.order_by("pk").values_list("pk", "met_at", "version")),
    )


def problems(response) -> list[str]:
    """The warning and error messages the response left for the user."""
    return [
        str(message)
        for message in get_messages(response.wsgi_request)
        if message.level >= constants.WARNING
    ]


HIDDEN = re.compile(r"<input\b[^>]*\btype=\"hidden\"[^>]*>")


def hidden_fields(response) -> dict:
    """The hidden fields of the page's forms (a concurrency token, a version), as a browser
    would post them back."""
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return {}
    found = {}
    for tag in HIDDEN.findall(response.content.decode()):
        name = re.search(r'\bname="([^"]*)"', tag)
        value = re.search(r'\bvalue="([^"]*)"', tag)
        if name and name.group(1) != "csrfmiddlewaretoken":
            found[name.group(1)] = html.unescape(value.group(1)) if value else ""
    return found


@contextmanager
def undone():
    """Whatever happens inside is rolled back: each POST starts from the same world."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def url_patterns() -> dict[str, tuple[set[str], str]]:
    """Every URL pattern of the project: {name (with its namespace): (its parameters, its
    route)}. An unnamed pattern appears as `<unnamed route>`, so it fails the walk too."""
    found: dict[str, tuple[set[str], str]] = {}

    def walk(patterns, namespace: str, params: set[str], prefix: str) -> None:
        for entry in patterns:
            own = set(entry.pattern.converters) | set(entry.pattern.regex.groupindex)
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, inner, params | own, route)
            elif isinstance(entry, URLPattern):
                name = f"{namespace}{entry.name or f'<unnamed {route}>'}"
                found[name] = (params | own, route)

    walk(get_resolver().url_patterns, "", set(), "/")
    return found
