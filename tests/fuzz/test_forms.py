"""Whatever is posted to any form of the product, as someone allowed to use it, the answer is
never a server error; and text with a script in it is shown escaped wherever it appears.

Each form is posted to with generated values: odd unicode, huge and empty strings, negative
and absurd numbers, impossible dates, markup and script payloads, ids that do not exist. The
QIA self-assessment has its own property test (tests/qia/test_form_property.py).
"""

import datetime
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.models import PLAN_FIELDS, RECURRENT_FIELDS, AreaOfSpend, ProgrammeArea
from qia.models import HEADINGS
from tests.access.demo import hidden_fields, problems, undone

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('qipp')</script>"
RAW = "<script>alert('qipp')"
ESCAPED = "&lt;script&gt;alert(&#x27;qipp&#x27;)&lt;/script&gt;"

ODD_TEXT = [
    SCRIPT,
    f'"><img src=x onerror=alert(1)>{SCRIPT}',
    "",
    " ",
    "\x00",
    "x" * 100_000,
    "\u202eevil\u202c",
    "\U0001d518\U0001d52b\U0001d526 \u0645\u0631\u062d\u0628\u0627 \u4f60\u597d",
    "Robert'); DROP TABLE governance_scheme;--",
    "{{ request }}{% now 'Y' %}",
    "%s%n%x",
    "\r\n\t",
]
ODD_NUMBERS = [
    "-1",
    "0",
    "-0.01",
    "0.001",
    "1e309",
    "-1e309",
    "1e-309",
    "NaN",
    "Infinity",
    "-Infinity",
    "99999999999999999999999999",
    "1" * 400,
    "12.345",
    "£1,000",
    "1,000",
    "0x10",
    "1_000",
    " 5 ",
    "",
    "\u0663",
]
ODD_DATES = [
    "0000-00-00",
    "2019-02-30",
    "9999-12-31",
    "0001-01-01",
    "31/12/2019",
    "",
    "yesterday",
    "2019-13-01",
    "10000-01-01",
    "-2019-01-01",
    "2019-1-1",
]
ODD_IDS = ["0", "-1", "99999999999999999999", "1.5", "abc", "", "1 OR 1=1"]


def text():
    unicode = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
    return st.one_of(st.sampled_from(ODD_TEXT), unicode)


def number():
    return st.one_of(
        st.sampled_from(ODD_NUMBERS),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
    )


def date():
    return st.one_of(st.sampled_from(ODD_DATES), st.dates().map(str))


def one_of(*values):
    """One of the values the form expects, or anything else."""
    return st.one_of(st.sampled_from([str(v) for v in values]), text())


def ids(*real):
    return st.sampled_from([*(str(pk) for pk in real), *ODD_IDS])


def anything(valid: str, odd):
    """The valid value, or an odd one: so that some posts go through, and store the odd."""
    return st.one_of(st.just(valid), odd)


def odd_file():
    return st.builds(
        lambda name, body: SimpleUploadedFile(name, body),
        st.sampled_from(["plan.pdf", "plan.exe", "plan", ".pdf", "a" * 300 + ".pdf", "é.docx"]),
        st.one_of(st.just(b"%PDF-1.4\n"), st.binary(max_size=200), st.just(b"")),
    )


@dataclass
class Form:
    """A form, who may post it, and on which demo object."""

    who: str
    obj: str | None = None
    extra: dict = field(default_factory=dict)
    # field -> (a valid value, a strategy for anything)
    fields: dict = field(default_factory=dict)
    # fields that store text shown back to users
    text_fields: tuple = ()
    # the pages that show the stored text (url name, object); "next" is where the form led,
    # "self" the form's own page
    shows: tuple = ()

    def url(self, demo, name: str) -> str:
        kwargs = dict(self.extra)
        if self.obj:
            kwargs["version_id" if name == "qia_eqia_download" else "pk"] = demo.objects[
                self.obj
            ].pk
        return reverse(name, kwargs=kwargs)

    def valid(self) -> dict:
        return {name: valid for name, (valid, _odd) in self.fields.items()}

    def strategy(self):
        return st.fixed_dictionaries({name: odd for name, (_valid, odd) in self.fields.items()})


def t(valid: str = "Fine."):
    return (valid, anything(valid, text()))


def n(valid: str = "1000"):
    return (valid, anything(valid, number()))


IN_A_YEAR = (datetime.date.today() + datetime.timedelta(days=365)).isoformat()


def d(valid: str = "2030-01-31"):
    return (valid, anything(valid, date()))


def c(valid: str, *others):
    return (valid, one_of(valid, *others))


def plan(valid: str = "1000") -> dict:
    return {name: n(valid) for name in PLAN_FIELDS}


def headings(valid_rationale: str = "Checked.") -> dict:
    found = {}
    for heading in HEADINGS:
        found[f"{heading}-impact"] = c("none", "positive", "negative", "")
        found[f"{heading}-consequence"] = c("", "1", "3", "5", "0", "6", "-1", "2.5")
        found[f"{heading}-likelihood"] = c("", "1", "3", "5", "0", "6", "-1", "2.5")
        found[f"{heading}-rationale"] = t(valid_rationale)
    return found


def mitigations() -> dict:
    return {
        "mitigation-TOTAL_FORMS": c("1", "0", "-1", "1001", "99999999999", "x"),
        "mitigation-INITIAL_FORMS": c("0", "1", "-1", "99999999999", "x"),
        "mitigation-0-heading": c("patient_experience", "", "nonsense"),
        "mitigation-0-description": t("Tell patients by letter."),
        "mitigation-0-owner": t("Project lead"),
        "mitigation-0-due_date": d("2030-03-31"),
        "mitigation-0-status": c("planned", "in_progress", "done"),
    }


def forms(demo) -> dict[str, Form]:
    users = demo.users
    # the year of the demo's draft: a PID of next year's plan
    draft_year = demo.objects["draft"].financial_year
    year = draft_year.pk
    area = ProgrammeArea.objects.order_by("pk").first().pk
    spend = AreaOfSpend.objects.order_by("pk").first().pk
    elr = demo.objects["draft"].organisation_id
    sro = users["elr-sro"].pk
    pid = {
        "title": t("Community pharmacy consultation service"),
        "description": t("Refer minor illness from NHS 111 to community pharmacy."),
        "programme_area": (str(area), ids(area)),
        "area_of_spend": (str(spend), ids(spend)),
        "scheme_type": c("transactional", "transformational"),
        "is_recovery": c("", "on", "true"),
        "sro": (str(sro), ids(sro)),
        "clinical_lead": ("", ids(sro)),
        "finance_lead": ("", ids(users["elr-finance-reviewer"].pk)),
        "start_date": d(draft_year.start_date.isoformat()),
        **plan(),
        "recurrence": c("recurrent", "non_recurrent", "mixed"),
        **{name: n("") for name in RECURRENT_FIELDS},  # read only for a mixed saving
        "cash_releasing": c("True", "False"),
        "investment_one_off": n("0"),
        "investment_recurring": n("0"),
    }
    return {
        "scheme_create": Form(
            "elr-project-lead",
            fields={
                **pid,
                "organisation": (str(elr), ids(elr)),
                "financial_year": (str(year), ids(year)),
            },
            text_fields=("title", "description"),
            shows=(("next", None),),
        ),
        "scheme_edit": Form(
            "elr-project-lead",
            "draft",
            fields={**pid, "version": n("")},
            text_fields=("title", "description"),
            shows=(("scheme_detail", "draft"), ("scheme_list", None), ("home", None)),
        ),
        "scheme_submit": Form(
            "elr-project-lead",
            "draft",
            fields={"comment": t(), "version": n("")},
            text_fields=("comment",),
            shows=(("scheme_detail", "draft"),),
        ),
        "scheme_review": Form(
            "elr-finance-reviewer",
            "challenge",
            extra={"kind": "finance"},
            fields={
                "decision": c("supported", "revise", "not_supported"),
                "comment": t(),
                "version": n(""),
            },
            text_fields=("comment",),
            shows=(("scheme_detail", "challenge"),),
        ),
        "scheme_withdraw": Form(
            "elr-sro",
            "challenge",
            fields={"reason": t(), "version": n("")},
            text_fields=("reason",),
            shows=(("scheme_detail", "challenge"),),
        ),
        "document_upload": Form(
            "elr-project-lead",
            "draft",
            fields={
                "kind": c("pid", "business_case", "supporting"),
                "description": t(),
                "file": (None, odd_file()),
            },
            text_fields=("description",),
            shows=(("scheme_detail", "draft"),),
        ),
        "scheme_start_delivery": Form(
            "elr-pmo",
            "approved",
            fields={"comment": t(), "version": n("")},
            text_fields=("comment",),
            shows=(("scheme_detail", "approved"),),
        ),
        "scheme_complete": Form(
            "elr-pmo",
            "delivery",
            fields={"delivered": t(), "lessons": t(), "version": n("")},
            text_fields=("delivered", "lessons"),
            shows=(("scheme_detail", "delivery"),),
        ),
        "return_new": Form(
            "elr-finance-lead",
            "delivery",
            fields={
                "month": c("1", "0", "13", "-1"),
                "actual": n(),
                "forecast_outturn": n(""),
                "commentary": t(),
                "token": t(""),
            },
        ),
        "return_edit": Form(
            "elr-finance-lead",
            "delivery",
            extra={"month": 1},
            fields={"actual": n(), "forecast_outturn": n(""), "commentary": t()},
            text_fields=("commentary",),
            shows=(("self", None), ("scheme_detail", "delivery")),
        ),
        "return_assure": Form(
            "elr-pmo",
            "delivery",
            extra={"month": 2},
            fields={"pmo_assured": n()},
        ),
        "qia_score": Form(
            "elr-panel-member-2",
            "panel",
            fields=headings(),
            text_fields=tuple(f"{h}-rationale" for h in HEADINGS),
            shows=(("qia_panel", "panel"),),
        ),
        "qia_agree": Form(
            "elr-quality-lead",
            "panel",
            fields={
                **headings(),
                **mitigations(),
                "overall_score": c("1", "0", "26", "-1", "2.5"),
                "justification": t(),
                "revision": n(""),
            },
        ),
        "qia_panel_close": Form(
            "elr-quality-lead",
            "panel",
            fields={"decision": c("dismiss", "return"), "reason": t()},
            text_fields=("reason",),
            shows=(("scheme_detail", "panel"), ("qia_detail", "panel")),
        ),
        "qia_sign_off": Form(
            "elr-chief-nurse",
            "signing",
            fields={
                "capacity": c("", "chief_nurse", "clinical_chair"),
                "decision": c("approve", "revise", "reject"),
                "comment": t(),
                "justification": t(""),
                "revision": n(""),
            },
            text_fields=("comment",),
            shows=(("qia_detail", "signing"),),
        ),
        "qia_reassess": Form(
            "elr-quality-lead",
            "delivery",
            fields={"reason": t()},
            text_fields=("reason",),
            shows=(("qia_history", "delivery"),),
        ),
        "qia_send_to_panel": Form("elr-project-lead", "reassessing", fields={"revision": n("")}),
        "qia_eqia": Form(
            "elr-project-lead",
            "draft",
            fields={
                "eqia_link": ("https://example.nhs.uk/eqia", anything("", text())),
                "eqia_file": (None, odd_file()),
            },
        ),
        "escalation_remedial": Form(
            "elr-sro",
            "escalation",
            # a remedial action is due within two years of today
            fields={"action": t(), "due": d(IN_A_YEAR)},
            text_fields=("action",),
            shows=(("escalation_detail", "escalation"),),
        ),
        "escalation_raise": Form(
            "elr-pmo",
            "escalation",
            fields={"note": t()},
            text_fields=("note",),
            shows=(("escalation_detail", "escalation"),),
        ),
        "escalation_decide": Form(
            "elr-qag-member",
            "qag_escalation",
            fields={
                "meeting": d(YESTERDAY),
                "decision": c("continue", "stop", "replace"),
                "note": t(),
                "due": ("", date()),
                "confirm": c("", "on"),
            },
            text_fields=("note",),
            shows=(("escalation_detail", "qag_escalation"),),
        ),
        "import_upload": Form(
            "elr-pmo",
            fields={
                "kind": c("returns", "plans", "targets"),
                "create_missing": c("", "on"),
                "file": (None, csv_file()),
            },
        ),
        "login": Form(
            "anon",
            fields={"username": t("elr-pmo"), "password": t("wrong")},
        ),
        "password_change": Form(
            "elr-viewer",
            fields={
                "old_password": t("qipp-demo"),
                "new_password1": t("A-new-pass-phrase-2026"),
                "new_password2": t("A-new-pass-phrase-2026"),
            },
        ),
    }


def csv_file():
    """A spreadsheet of odd cells under the columns an import expects."""
    header = "reference,month,actual,forecast_outturn,commentary,organisation,financial_year,"
    header += "requirement,title"
    cell = st.one_of(
        st.sampled_from(ODD_NUMBERS + ODD_DATES + ["ELR-2020-001", "ELR", "2019/20"]),
        text().map(lambda s: s[:200].replace("\x00", "")),
    )
    row = st.lists(cell, min_size=9, max_size=9).map(
        lambda cells: ",".join('"' + c.replace('"', '""') + '"' for c in cells)
    )
    return st.builds(
        lambda rows, name: SimpleUploadedFile(name, "\n".join([header, *rows]).encode()),
        st.lists(row, max_size=4),
        st.sampled_from(["returns.csv", "returns.xlsx", "returns.CSV"]),
    )


# the day before the test runs: a QAG meeting already held, after the demo's escalation
YESTERDAY = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()

FORM_NAMES = [
    "scheme_create",
    "scheme_edit",
    "scheme_submit",
    "scheme_review",
    "scheme_withdraw",
    "document_upload",
    "scheme_start_delivery",
    "scheme_complete",
    "return_new",
    "return_edit",
    "return_assure",
    "qia_score",
    "qia_agree",
    "qia_panel_close",
    "qia_sign_off",
    "qia_reassess",
    "qia_send_to_panel",
    "qia_eqia",
    "escalation_remedial",
    "escalation_raise",
    "escalation_decide",
    "import_upload",
    "login",
    "password_change",
]
FUZZ = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def show_pages(demo, form: Form, url: str, response) -> list[str]:
    pages = []
    for name, obj in form.shows:
        if name == "self":
            pages.append(url)
        elif name == "next":
            if response.status_code == 302:
                pages.append(response["Location"])
        elif obj is None:
            pages.append(reverse(name))
        else:
            pages.append(reverse(name, args=[demo.objects[obj].pk]))
    return pages


def fuzz_posts(demo, name: str, who: str, url: str, fields: dict) -> None:
    """Post generated values of `fields` (name -> (valid, odd)) to `url` as `who`, each post
    undone: never a server error, and never a script shown raw, on the page or where it
    leads. For the forms fuzzed in the other modules of this folder."""
    client = demo.client(who)
    hidden = hidden_fields(client.get(url))

    @FUZZ
    @given(data=st.fixed_dictionaries({field: odd for field, (_valid, odd) in fields.items()}))
    def post(data):
        with undone():
            response = client.post(url, {**hidden, **data})
            assert response.status_code < 500, (name, response.status_code)
            assert RAW not in response.content.decode(errors="replace")
            if response.status_code == 302:
                assert RAW not in client.get(response["Location"]).content.decode()

    post()


def test_the_fuzzed_forms_are_every_form_of_the_product():
    """A form added to the product is added here too: the POST pages of the access table."""
    from tests.access.table import TABLE

    posted = {name for name, cases in TABLE.items() if any(c.post for c in cases)}
    # posted without a form (a button), or fuzzed elsewhere
    buttons = {"logout", "notification_mark_all_read", "notification_open", "document_delete"}
    # no form: it leads to QAG's decision on an escalation (escalation_decide, fuzzed)
    buttons |= {"scheme_stop"}
    # a form per row: bad amounts and rows are posted in tests/governance/test_bulk_assurance.py
    elsewhere = {"qia_self_assessment", "returns_assure_all"}
    # the pipeline's forms are fuzzed in tests/fuzz/test_pipeline_forms.py
    elsewhere |= {"opportunity_create", "opportunity_edit", "opportunity_close"}
    elsewhere |= {"opportunity_write_up"}
    # carrying into next year and confirming a carried plan: tests/fuzz/test_carry_forms.py
    elsewhere |= {"scheme_carry", "carried_plan_confirm"}
    # starting several schemes at once, how one hears of notices: tests/fuzz/test_bulk_forms.py
    elsewhere |= {"bulk_start", "account"}
    # deputies, QAG's approval on its route, several sign-offs: tests/fuzz/test_approval_forms.py
    elsewhere |= {"deputy_list", "deputy_dates", "qia_qag_approval", "qia_bulk_sign_off"}
    buttons |= {"deputy_end"}
    # marking a condition met: tests/qia/test_conditions.py
    elsewhere |= {"qia_condition_meet"}
    # the audit export: tests/fuzz/test_audit_forms.py
    elsewhere |= {"audit_export"}
    assert posted - buttons - elsewhere - {"login"} <= set(FORM_NAMES)
    assert set(FORM_NAMES) <= set(TABLE)


@pytest.mark.parametrize("name", FORM_NAMES)
def test_no_post_to_a_form_is_a_server_error_and_scripts_stay_escaped(demo, name):
    form = forms(demo)[name]
    url = form.url(demo, name)
    client = demo.client(form.who)
    hidden = hidden_fields(client.get(url))

    @FUZZ
    @given(data=form.strategy())
    def post(data):
        with undone():
            payload = {**hidden, **{k: v for k, v in data.items() if v is not None}}
            response = client.post(url, payload)
            assert response.status_code < 500, (name, response.status_code)
            assert RAW not in response.content.decode(errors="replace")
            scripted = any("<script" in str(value) for value in data.values())
            if response.status_code == 302 and scripted:
                for page in show_pages(demo, form, url, response):
                    shown = client.get(page).content.decode()
                    assert RAW not in shown, page

    post()


# the forms that store text shown back to users
SHOWN_BACK = [
    "scheme_create",
    "scheme_edit",
    "scheme_submit",
    "scheme_review",
    "scheme_withdraw",
    "document_upload",
    "scheme_start_delivery",
    "scheme_complete",
    "return_edit",
    "qia_score",
    "qia_panel_close",
    "qia_sign_off",
    "qia_reassess",
    "escalation_remedial",
    "escalation_raise",
    "escalation_decide",
]


@pytest.mark.parametrize("name", SHOWN_BACK)
def test_a_script_stored_through_a_form_is_shown_escaped(demo, name):
    form = forms(demo)[name]
    url = form.url(demo, name)
    client = demo.client(form.who)
    data = {**hidden_fields(client.get(url)), **form.valid()}
    data = {k: v for k, v in data.items() if v is not None}
    data.update({field_name: SCRIPT for field_name in form.text_fields})
    if name == "document_upload":
        data["file"] = SimpleUploadedFile("plan.pdf", b"%PDF-1.4\n%demo\n")
    with undone():
        response = client.post(url, data)
        assert response.status_code == 302, (name, response.status_code)
        assert not problems(response), problems(response)
        for page in show_pages(demo, form, url, response):
            shown = client.get(page).content.decode()
            assert RAW not in shown, page
            assert ESCAPED in shown, page


GET_FORMS = {
    "scheme_list": {
        "q": text(),
        "organisation": ids(1),
        "financial_year": ids(1),
        "programme_area": ids(1),
        "state": one_of("draft", "approved"),
        "page": one_of("1", "2", "0", "-1", "last", "99999999999999999999"),
    },
    "dashboard": {"year": one_of("2019", "1900", "-1"), "month": one_of("1", "12", "13", "0")},
    "report_table": {
        "year": one_of("2019/20", "2019", "1900/01", "2019/21"),
        "month": one_of("1", "12", "13", "0", "-1"),
        "by": one_of("organisation", "programme_area"),
        "format": one_of("html", "csv", "xlsx", "pdf"),
    },
    "qia_heatmap": {
        "organisation": ids(1),
        "financial_year": ids(1),
        "band": one_of("low", "moderate", "high", "extreme"),
        "consequence": one_of("1", "5", "6"),
        "likelihood": one_of("1", "5", "6"),
    },
    "qia_register": {
        "organisation": ids(1),
        "band": one_of("low", "extreme"),
        "sort": one_of("score", "review", "-score"),
        "page": one_of("1", "0", "last", "99999999999999999999"),
    },
    "escalation_list": {
        "status": one_of("live", "open", "resolved", ""),
        "level": one_of("pmo", "qag"),
        "rule": one_of("off_track", "missing_return"),
        "page": one_of("1", "0", "last"),
    },
    "qag_pack": {"system": ids(1), "meeting": date()},
    "notification_list": {"page": one_of("1", "0", "last", "-5")},
    "return_new": {"month": one_of("1", "12", "13", "0", "99999999999999999999")},
}


@pytest.mark.parametrize("name", sorted(GET_FORMS))
def test_no_filter_in_a_query_string_is_a_server_error(demo, name):
    extra = {"table": "summary"} if name == "report_table" else {}
    if name == "return_new":
        url = reverse(name, args=[demo.objects["delivery"].pk])
        client = demo.client("elr-finance-reviewer")
    else:
        url = reverse(name, kwargs=extra)
        client = demo.client("elr-pmo")

    @FUZZ
    @given(params=st.fixed_dictionaries({}, optional=GET_FORMS[name]))
    def get(params):
        response = client.get(url, params)
        assert response.status_code < 500, (name, params)
        assert RAW not in response.content.decode(errors="replace")

    get()
