"""Who may GET and POST each page: ACCESS.md as a table, walked by test_matrix.py.

Every URL name of the project has a row; a page added without one fails the walk. A row is a
list of cases, each with the object the URL is built from (see `OBJECTS` in test_matrix.py)
and the people who may GET it and POST to it. Everyone else must be refused: sent to sign-in
when anonymous, otherwise a 403 or 404 (or 405 for the wrong method), or for a POST a
redirect with an error message; and nothing may change.

The people walked:
- `anon`: not signed in;
- `elr-<role>`: the demo users of East Leicestershire and Rutland (ELR), one per role, and
  `elr-finance-lead`, who holds none. On every ELR scheme the team is `elr-project-lead`,
  `elr-sro` and `elr-finance-lead`;
- `wl-all`: a user of West Leicestershire (same system, LLR) holding every role;
- `far-all`: a user of an organisation in another system holding every role;
- `admin`: the demo superuser, a member of no organisation and holding no role (ACCESS.md:
  superusers act in the workflow only through the roles they hold).

`post=None` means the page has no form to post: its POST is not walked.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from governance.models import AreaOfSpend, Delegation, Opportunity, Organisation, Scheme, User

ELR_ROLES = [
    "project-lead",
    "sro",
    "finance-lead",  # no role: on the team of every ELR scheme, enters its returns
    "finance-reviewer",
    "clinical-reviewer",
    "quality-lead",
    "panel-member",
    "panel-member-2",
    "pmo",
    "chief-nurse",
    "clinical-chair",
    "qag-member",
    "viewer",
]
ELR = frozenset(f"elr-{role}" for role in ELR_ROLES)
PEOPLE = ["anon", *sorted(ELR), "wl-all", "far-all", "admin"]

NOBODY = frozenset()
ANYONE = frozenset(PEOPLE)
SIGNED_IN = ANYONE - {"anon"}
# members of the LLR system: they see its schemes once out of draft
SYSTEM = ELR | {"wl-all"}
# a member of some organisation (the admin is of none)
MEMBERS = SYSTEM | {"far-all"}
TEAM = frozenset({"elr-project-lead", "elr-sro", "elr-finance-lead"})
# a draft: its scheme team and the PMO of its organisation
DRAFT_READERS = TEAM | {"elr-pmo"}
PROJECT_LEAD = frozenset({"elr-project-lead"})


# A month of the demo's year in delivery that has begun and has no return yet: this month,
# since the demo's returns go up to last month; in April, when that year has just ended with
# every month returned, March, whose return tests.access.demo deletes.
TODAY = date.today()
FREE_MONTH = 12 if TODAY.month == 4 else (TODAY.month - 4) % 12 + 1


def elr(*roles: str) -> frozenset:
    return frozenset(f"elr-{role}" for role in roles)


@dataclass(frozen=True)
class Case:
    obj: str | None
    get: frozenset
    post: frozenset | None = None
    # what the URL needs besides the object's id
    extra: dict = field(default_factory=dict)
    # a valid form: a refused user posting it must still change nothing
    data: dict = field(default_factory=dict)


class Looked(Mapping):
    """An `extra` or `data` whose values are looked up in the demo when the walk reads them:
    the id of an opportunity for its address, a person's or an area's for a form (the demo's
    objects, tests/access/demo.py, are schemes and what hangs off them)."""

    def __init__(self, **lookups: Callable[[], object]):
        self.lookups = lookups

    def __getitem__(self, key):
        return self.lookups[key]()

    def __iter__(self):
        return iter(self.lookups)

    def __len__(self):
        return len(self.lookups)


def opportunity(title: str) -> Looked:
    """The address of one of the demo's ELR opportunities (demo/opportunities.py)."""
    return Looked(pk=lambda: Opportunity.objects.get(organisation__code="ELR", title=title).pk)


# ELR's two demo opportunities: the project lead's own, and a GP's (elr-clinical-reviewer's),
# which a project lead must own before it is written up
OWN_IDEA = opportunity("Social prescribing for frequent attenders")
GPS_IDEA = opportunity("Biosimilar adalimumab switch")
# writing up OWN_IDEA: what the opportunity does not say (it has no area of spend)
WRITE_UP = Looked(
    scheme_type=lambda: "transformational",
    sro=lambda: User.objects.get(username="elr-sro").pk,
    area_of_spend=lambda: AreaOfSpend.objects.get(name="Primary Care").pk,
)
PIPELINE_KEEPERS = elr("project-lead", "pmo")

# the demo's delegation (demo/deputies.py), and dates it may be changed to
LEAVE = Looked(pk=lambda: Delegation.objects.get(principal__username="elr-clinical-chair").pk)
NEW_DATES = Looked(
    starts_on=lambda: date.today().isoformat(),
    ends_on=lambda: (date.today() + timedelta(days=20)).isoformat(),
)
CHAIR_OR_ADMIN = frozenset({"elr-clinical-chair", "admin"})
SIGNATORIES = elr("chief-nurse", "clinical-chair") | {"wl-all", "far-all"}

# the demo's ELR scheme carried on from last year (demo/carried.py), its plan unconfirmed, and
# that plan as its project lead confirms it
CARRIED = Looked(
    pk=lambda: Scheme.objects.get(organisation__code="ELR", carried_from__isnull=False).pk
)
CARRIED_PLAN = {f"plan_m{month:02d}": "134,400" for month in range(1, 13)}


def _in_delivery(title: str) -> Scheme:
    return Scheme.objects.get(organisation__code="ELR", title=title, carried_from__isnull=True)


# one of this year's ELR schemes in delivery, ticked to carry into next year, with its year:
# the organisation is the carry page's own, so only ELR's PMO carries it
CARRY = Looked(
    year=lambda: _in_delivery("Outpatient follow-up reduction").financial_year.label,
    scheme=lambda: [_in_delivery("Outpatient follow-up reduction").pk],
)

# the demo's approved ELR scheme ticked on the page that starts several at once
BULK_START = Looked(
    scheme=lambda: [Scheme.objects.get(organisation__code="ELR", title="Discharge to assess").pk],
    comment=lambda: "Go.",
)

# the audit export of ELR's trail for the last 30 days, everything in it, as CSV
AUDIT_ELR = Looked(
    organisations=lambda: [Organisation.objects.get(code="ELR").pk],
    date_from=lambda: (TODAY - timedelta(days=30)).isoformat(),
    date_to=lambda: TODAY.isoformat(),
    kinds=lambda: ["transitions", "reviews", "scores", "sign_offs", "qag", "assured", "refusals"],
    format=lambda: "csv",
)
AUDITORS = elr("pmo") | {"wl-all", "far-all", "admin"}

WITHDRAW = {"reason": "Superseded by the system-wide programme."}
# marking a condition met (tests/access/demo.py: its owner is elr-quality-lead)
MET = {"evidence": "The audit went to the quality committee.", "evidence_link": "https://x.nhs.uk"}
OWNER_OR_SRO = elr("quality-lead", "sro")
REVIEW = {"decision": "supported", "comment": "Figures reconcile to the ledger."}

TABLE: dict[str, list[Case]] = {
    # --- public ---
    "healthz": [Case(None, get=ANYONE)],
    "login": [Case(None, get=ANYONE)],
    # logging out is a POST (a GET is 405 for everyone)
    "logout": [Case(None, get=NOBODY, post=ANYONE)],
    # sign-in with NHSmail: public, and not there for anyone (404) while no identity provider
    # is set up, as in this walk; tests/identity signs in through a real one
    "nhsmail_start": [Case(None, get=NOBODY)],
    "nhsmail_callback": [Case(None, get=NOBODY)],
    # the page also takes how the user hears of each kind of notice (their own choice only);
    # posted empty, the form is shown again with what to choose
    "account": [Case(None, get=SIGNED_IN, post=SIGNED_IN)],
    "password_change": [Case(None, get=SIGNED_IN, post=SIGNED_IN)],
    # naming a deputy: anyone signed in sees the page (a role with no delegable decisions is
    # told so); posted empty, the form is shown again with what to fill in
    # QAG's approval on the route that asks for it: a QAG member of the scheme's system, not
    # on its team; posted incomplete, the form is shown again
    "qia_qag_approval": [
        Case(
            "awaiting_qag", get=elr("qag-member") | {"wl-all"}, post=elr("qag-member") | {"wl-all"}
        )
    ],
    # signing several QIAs off at once: whoever holds a signing role in an organisation (the
    # page lists only what they may sign); posted empty, the form is shown again
    "qia_bulk_sign_off": [
        Case(None, get=SIGNATORIES, post=SIGNATORIES),
    ],
    "deputy_list": [Case(None, get=SIGNED_IN, post=SIGNED_IN)],
    # the demo's delegation (ELR's Clinical Chair away, named by the administrator): only
    # the person away or an administrator re-dates or ends it; a POST-only action
    "deputy_dates": [Case(None, get=NOBODY, post=CHAIR_OR_ADMIN, extra=LEAVE, data=NEW_DATES)],
    "deputy_end": [Case(None, get=NOBODY, post=CHAIR_OR_ADMIN, extra=LEAVE)],
    # --- the PID workflow ---
    "home": [Case(None, get=SIGNED_IN)],
    "my_tasks": [Case(None, get=SIGNED_IN)],
    "scheme_list": [Case(None, get=SIGNED_IN)],
    # project leads, each for their own organisation (the form offers only those)
    "scheme_create": [
        Case(
            None,
            get=PROJECT_LEAD | {"wl-all", "far-all"},
            post=PROJECT_LEAD | {"wl-all", "far-all"},
        )
    ],
    "scheme_detail": [
        Case("draft", get=DRAFT_READERS),
        Case("delivery", get=SYSTEM),
    ],
    "scheme_edit": [
        Case("draft", get=PROJECT_LEAD, post=PROJECT_LEAD),
        Case("delivery", get=NOBODY, post=NOBODY),
    ],
    "scheme_submit": [
        Case("draft", get=PROJECT_LEAD, post=PROJECT_LEAD, data={"comment": "Ready."}),
    ],
    "scheme_review": [
        Case(
            "challenge",
            get=elr("finance-reviewer"),
            post=elr("finance-reviewer"),
            extra={"kind": "finance"},
            data=REVIEW,
        ),
        Case(
            "challenge",
            get=elr("clinical-reviewer"),
            post=elr("clinical-reviewer"),
            extra={"kind": "clinical"},
            data=REVIEW,
        ),
        # another organisation's draft, by id: nobody reviews it
        Case("draft", get=NOBODY, post=NOBODY, extra={"kind": "clinical"}, data=REVIEW),
    ],
    "scheme_withdraw": [
        Case(
            "challenge",
            get=elr("project-lead", "sro"),
            post=elr("project-lead", "sro"),
            data=WITHDRAW,
        ),
        # before approval, a draft too; never another organisation's
        Case(
            "draft",
            get=elr("project-lead", "sro"),
            post=elr("project-lead", "sro"),
            data=WITHDRAW,
        ),
        # after approval the form still shows, but withdrawing is refused with the reason
        Case("approved", get=elr("project-lead", "sro"), post=NOBODY, data=WITHDRAW),
    ],
    "document_upload": [Case("draft", get=NOBODY, post=PROJECT_LEAD)],
    "document_download": [
        Case("draft_document", get=DRAFT_READERS),
        Case("delivery_document", get=SYSTEM),
    ],
    "document_delete": [
        Case("draft_document", get=NOBODY, post=PROJECT_LEAD),
        Case("delivery_document", get=NOBODY, post=NOBODY),
    ],
    # --- the pipeline: its whole system sees an opportunity; its owner, project leads and PMO
    # of its organisation change it while open; its owner, a project lead, writes it up ---
    "pipeline": [Case(None, get=SIGNED_IN)],
    # an empty form is shown again: the walk's fingerprint does not count opportunities
    "opportunity_create": [
        Case(
            None,
            get=PIPELINE_KEEPERS | {"wl-all", "far-all"},
            post=PIPELINE_KEEPERS | {"wl-all", "far-all"},
        )
    ],
    "opportunity_detail": [Case(None, get=SYSTEM, extra=OWN_IDEA)],
    "opportunity_edit": [
        Case(None, get=PIPELINE_KEEPERS, post=PIPELINE_KEEPERS, extra=OWN_IDEA),
        Case(
            None,
            get=PIPELINE_KEEPERS | elr("clinical-reviewer"),
            post=PIPELINE_KEEPERS | elr("clinical-reviewer"),
            extra=GPS_IDEA,
        ),
    ],
    "opportunity_close": [
        Case(None, get=PIPELINE_KEEPERS, post=PIPELINE_KEEPERS, extra=OWN_IDEA),
        Case(
            None,
            get=PIPELINE_KEEPERS | elr("clinical-reviewer"),
            post=PIPELINE_KEEPERS | elr("clinical-reviewer"),
            extra=GPS_IDEA,
        ),
    ],
    "opportunity_write_up": [
        Case(None, get=PROJECT_LEAD, post=PROJECT_LEAD, extra=OWN_IDEA, data=WRITE_UP),
        # its owner is no project lead: nobody writes it up until a project lead owns it
        Case(None, get=NOBODY, post=NOBODY, extra=GPS_IDEA, data=WRITE_UP),
    ],
    # --- delivery ---
    "dashboard": [Case(None, get=MEMBERS)],
    "scheme_start_delivery": [
        Case("approved", get=elr("pmo"), post=elr("pmo"), data={"comment": "Go."}),
    ],
    "scheme_complete": [
        Case(
            "delivery",
            get=elr("pmo", "sro"),
            post=elr("pmo", "sro"),
            data={"delivered": "All of it.", "lessons": "Start early."},
        ),
    ],
    # a scheme stops only by QAG's decision on an escalation at QAG level: the page leads a
    # QAG member of the system (never the scheme team) there; without one, nobody
    "scheme_stop": [
        Case("off_track", get=elr("qag-member") | {"wl-all"}, post=elr("qag-member") | {"wl-all"}),
        Case("delivery", get=NOBODY, post=NOBODY),
    ],
    "return_new": [
        Case(
            "delivery",
            get=elr("project-lead", "finance-lead"),
            post=elr("project-lead", "finance-lead"),
            data={"month": str(FREE_MONTH), "actual": "1000", "commentary": "On plan."},
        ),
        Case("draft", get=NOBODY, post=NOBODY, data={"month": "1", "actual": "1000"}),
    ],
    "return_edit": [
        Case(
            "delivery",
            get=elr("project-lead", "finance-lead"),
            post=elr("project-lead", "finance-lead"),
            extra={"month": 1},
            data={"actual": "999", "commentary": "Corrected."},
        ),
    ],
    "return_assure": [
        Case(
            "delivery",
            get=elr("pmo"),
            post=elr("pmo"),
            extra={"month": 1},
            # a value other than the actual, with the reason it needs
            data={"pmo_assured": "900", "assured_reason": "Two invoices fell in July."},
        ),
    ],
    # the PMO's returns to assure, many at once: each PMO user for their own organisation
    "returns_assure_all": [
        Case(
            None,
            get=elr("pmo") | {"wl-all", "far-all"},
            post=elr("pmo") | {"wl-all", "far-all"},
        )
    ],
    # starting delivery of several approved schemes at once: each PMO user for their own
    # organisations; nothing ticked, the form is shown again; another organisation's scheme
    # ticked is refused, scheme by scheme, with the reason
    "bulk_start": [
        Case(None, get=elr("pmo") | {"wl-all", "far-all"}, post=elr("pmo") | {"wl-all", "far-all"}),
        Case(None, get=elr("pmo") | {"wl-all", "far-all"}, post=elr("pmo"), data=BULK_START),
    ],
    # carrying recurrent savings into next year: each PMO user for their own organisation
    # (the page's); nothing ticked, the form is shown again; another organisation's scheme
    # ticked is refused with the reason
    "scheme_carry": [
        Case(
            None,
            get=elr("pmo") | {"wl-all", "far-all"},
            post=elr("pmo") | {"wl-all", "far-all"},
        ),
        Case(None, get=elr("pmo") | {"wl-all", "far-all"}, post=elr("pmo"), data=CARRY),
    ],
    # a carried plan: only the carried scheme's project lead confirms it; a scheme not
    # carried has none
    "carried_plan_confirm": [
        Case(None, get=PROJECT_LEAD, post=PROJECT_LEAD, extra=CARRIED, data=CARRIED_PLAN),
        Case("delivery", get=NOBODY, post=NOBODY, data=CARRIED_PLAN),
    ],
    # the assured values with their reasons, for audit: each PMO user for their own
    # organisations (staff only through the PMO role they hold)
    "assured_values": [Case(None, get=elr("pmo") | {"wl-all", "far-all"})],
    # --- reports ---
    "report_index": [Case(None, get=SIGNED_IN)],
    "report_table": [Case(None, get=SIGNED_IN, extra={"table": "summary"})],
    # the committee paper's page: anyone signed in, with their own systems' figures
    "report_paper": [Case(None, get=SIGNED_IN)],
    # the audit export: staff (the admin) any organisation, each PMO officer their own; an
    # empty post shows the form again (400); ELR's trail asked for by another PMO is refused
    "audit_export": [
        Case(None, get=AUDITORS, post=AUDITORS),
        Case(None, get=AUDITORS, post=elr("pmo") | {"admin"}, data=AUDIT_ELR),
    ],
    "import_upload": [
        Case(None, get=elr("pmo") | {"wl-all", "far-all"}, post=elr("pmo") | {"wl-all", "far-all"})
    ],
    # an import's page and its list of problems: who uploaded it, and staff
    "import_run": [Case("import_run", get=elr("pmo") | {"admin"})],
    "import_run_errors": [Case("import_run", get=elr("pmo") | {"admin"})],
    # --- the QIA ---
    "qia_heatmap": [Case(None, get=SIGNED_IN)],
    "qia_register": [Case(None, get=SIGNED_IN)],
    "qia_flags": [
        Case(
            None,
            get=elr("qag-member", "pmo", "quality-lead", "chief-nurse", "clinical-chair")
            | {"wl-all", "far-all"},
        )
    ],
    "qia_detail": [Case("draft", get=DRAFT_READERS), Case("panel", get=SYSTEM)],
    "qia_version": [
        Case("draft", get=DRAFT_READERS, extra={"number": 1}),
        Case("panel", get=SYSTEM, extra={"number": 1}),
    ],
    "qia_print": [
        Case("draft", get=DRAFT_READERS, extra={"number": 1}),
        Case("panel", get=SYSTEM, extra={"number": 1}),
    ],
    # the print view as a PDF: the same people
    "qia_pdf": [
        Case("draft", get=DRAFT_READERS, extra={"number": 1}),
        Case("panel", get=SYSTEM, extra={"number": 1}),
    ],
    "qia_history": [Case("draft", get=DRAFT_READERS), Case("panel", get=SYSTEM)],
    # blind scoring: the signatories of its organisation, and whoever has scored
    # (elr-panel-member has; elr-panel-member-2 and the quality lead not yet)
    "qia_panel": [Case("panel", get=elr("chief-nurse", "clinical-chair", "panel-member"))],
    "qia_version_panel": [
        Case(
            "panel",
            get=elr("chief-nurse", "clinical-chair", "panel-member"),
            extra={"number": 1},
        )
    ],
    "qia_self_assessment": [
        Case("draft", get=PROJECT_LEAD, post=PROJECT_LEAD),
        Case("panel", get=NOBODY, post=NOBODY),
    ],
    # a re-assessment is open on `reassessing`; a first QIA goes with the PID instead
    "qia_send_to_panel": [
        Case("reassessing", get=PROJECT_LEAD, post=PROJECT_LEAD),
        Case("draft", get=NOBODY, post=NOBODY),
    ],
    "qia_eqia": [
        Case("draft", get=PROJECT_LEAD, post=PROJECT_LEAD, data={"eqia_link": "https://x.nhs.uk"})
    ],
    # once per version: elr-panel-member has scored already, so their GET (an old link) is
    # told what the QIA waits for, on the QIA's page, and their POST is refused
    "qia_score": [
        Case(
            "panel",
            get=elr("quality-lead", "panel-member", "panel-member-2"),
            post=elr("quality-lead", "panel-member-2"),
        )
    ],
    # the page tells the quality lead to score first; until she has, agreeing is refused
    "qia_agree": [Case("panel", get=elr("quality-lead"), post=NOBODY)],
    "qia_panel_close": [
        Case(
            "panel",
            get=elr("quality-lead"),
            post=elr("quality-lead"),
            data={"decision": "return", "reason": "More detail on the step-down beds."},
        )
    ],
    # the signatories of its organisation, none of whom sat on its panel
    "qia_sign_off": [
        Case(
            "signing",
            get=elr("chief-nurse", "clinical-chair"),
            post=elr("chief-nurse", "clinical-chair"),
            data={"decision": "approve", "comment": "Safe to proceed."},
        )
    ],
    "qia_reassess": [
        Case(
            "delivery",
            get=elr("project-lead", "sro", "quality-lead", "pmo"),
            post=elr("project-lead", "sro", "quality-lead", "pmo"),
            data={"reason": "The pathway changed."},
        )
    ],
    "qia_eqia_download": [Case("draft_version", get=DRAFT_READERS)],
    # --- notifications, escalations, QAG ---
    "notification_list": [Case(None, get=SIGNED_IN)],
    "notification_mark_all_read": [Case(None, get=NOBODY, post=SIGNED_IN)],
    # only its addressee (elr-project-lead) opens a notification
    "notification_open": [Case("notice", get=NOBODY, post=PROJECT_LEAD)],
    "escalation_list": [Case(None, get=SIGNED_IN)],
    # the PMO and QAG members of its system, and the scheme team
    "escalation_detail": [
        Case("escalation", get=TEAM | elr("pmo", "qag-member") | {"wl-all"}),
    ],
    "escalation_remedial": [
        Case(
            "escalation",
            get=elr("sro"),
            post=elr("sro"),
            # due within two years of today, as a remedial action must be
            data={
                "action": "Fill the assessor post.",
                "due": (TODAY + timedelta(days=365)).isoformat(),
            },
        )
    ],
    "escalation_raise": [
        Case("escalation", get=NOBODY, post=elr("pmo"), data={"note": "No remedial action."})
    ],
    "escalation_decide": [
        Case(
            "qag_escalation",
            get=elr("qag-member") | {"wl-all"},
            post=elr("qag-member") | {"wl-all"},
            data={
                "meeting": (date.today() - timedelta(days=1)).isoformat(),
                "decision": "continue",
                "note": "Continue, with a new plan.",
            },
        )
    ],
    "qag_pack": [Case(None, get=elr("pmo", "qag-member") | {"wl-all", "far-all"})],
    "qag_pack_pdf": [Case(None, get=elr("pmo", "qag-member") | {"wl-all", "far-all"})],
    # --- conditions of approval ---
    # the demo's conditions of the scheme in delivery, owned by elr-quality-lead: its owner or
    # the scheme's SRO marks one met; one already met, the page sends them to the scheme page
    # and a post is refused with the reason
    "qia_condition_meet": [
        Case("condition", get=OWNER_OR_SRO, post=OWNER_OR_SRO, data=MET),
        Case("met_condition", get=OWNER_OR_SRO, post=NOBODY, data=MET),
    ],
}

# pages not there at all in the walk (see their rows): a 404 refuses the anonymous too
ABSENT = {"nhsmail_start", "nhsmail_callback"}

# The Django admin, one rule for every URL in its namespace: only staff reach it (the
# superuser here); everyone else is sent to its own sign-in page, which is public.
ADMIN_NAMESPACE = "admin"
ADMIN_STAFF = frozenset({"admin"})
ADMIN_PUBLIC = {"admin:login"}
# the pages staff must be shown (the rest may refuse even staff, as a read-only record does)
ADMIN_SHOWN = {"admin:index", "admin:app_list", "admin:password_change", "admin:jsi18n"}
ADMIN_SHOWN_PAGES = ("_changelist", "_change", "_history")
# who walks each admin URL (its index: everyone): anonymous, non-staff with every role
# and with none, and staff
ADMIN_WALKERS = ["anon", "wl-all", "elr-viewer", "admin"]
