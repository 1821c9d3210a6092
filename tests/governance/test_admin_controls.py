"""The admin's guards on data that other rows lean on, and the record it keeps of each edit:
a year, programme area or area of spend in use keeps its identity and cannot be deleted; names
are unique ignoring capitals; the product's role groups keep their names; every change is
written down with its old and new values; failed sign-ins stay on record; a sign-off route
rule that could never apply is refused."""

import html.parser
from decimal import Decimal

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from governance import roles
from governance.models import (
    AreaOfSpend,
    FinancialYear,
    Organisation,
    ProgrammeArea,
    QippTarget,
    Scheme,
    StageWeight,
    User,
)
from qia.models import Route, RouteRule
from tests.pages import text, visible

pytestmark = pytest.mark.django_db

PROTECTED = "would require deleting the following protected related objects"
NO_PERMISSION = "doesn't have permission to delete"


@pytest.fixture
def admin_client(client, llr):
    client.force_login(
        User.objects.create_superuser("admin", "admin@example.nhs.uk", password="pw")
    )
    return client


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


class _FormData(html.parser.HTMLParser):
    """What a browser would post from the page's main form, as it stands."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.select = None
        self.textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.data.setdefault(name, []).append(attrs.get("value") or "")
        elif tag == "select" and name:
            self.select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self.select and "selected" in attrs:
            self.data[self.select].append(attrs.get("value") or "")
        elif tag == "textarea" and name:
            self.textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea][0] += data.removeprefix("\n")


def form_data(response) -> dict[str, list[str]]:
    parser = _FormData()
    parser.feed(text(response))
    return parser.data


def history(obj) -> list[str]:
    """The change messages of the object's History page, newest first."""
    return [
        entry.get_change_message()
        for entry in LogEntry.objects.filter(object_id=str(obj.pk), action_flag=CHANGE)
    ]


# --- 1. a financial year in use -------------------------------------------------------------


def test_a_year_with_schemes_shows_its_start_fixed_and_saving_it_moves_nothing(
    admin_client, llr, make_scheme
):
    scheme = make_scheme()
    year = llr.year

    page = admin_client.get(url(FinancialYear, "change", year.pk))
    assert 'name="start_year"' not in text(page)
    assert "Fixed: this year has schemes, QIPP targets or opportunities" in visible(page)
    assert "Delete" not in visible(page)

    response = admin_client.post(url(FinancialYear, "change", year.pk), {"start_year": "2020"})
    assert response.status_code == 302
    year.refresh_from_db()
    assert year.start_year == 2019
    assert Scheme.objects.get(pk=scheme.pk).financial_year.label == "2019/20"


def test_a_year_with_only_a_target_is_fixed_too(admin_client, llr):
    QippTarget.objects.create(
        organisation=llr.org("ELR"), financial_year=llr.year, requirement=Decimal("5000000")
    )
    admin_client.post(url(FinancialYear, "change", llr.year.pk), {"start_year": "2021"})
    llr.year.refresh_from_db()
    assert llr.year.start_year == 2019


def test_a_year_with_nothing_in_it_can_still_be_corrected_and_deleted(admin_client, llr):
    empty = FinancialYear.objects.create(start_year=2030)
    page = admin_client.get(url(FinancialYear, "change", empty.pk))
    assert 'name="start_year"' in text(page)
    assert "Fixed:" not in visible(page)
    assert "Delete" in visible(page)

    response = admin_client.post(url(FinancialYear, "change", empty.pk), {"start_year": "2031"})
    assert response.status_code == 302
    empty.refresh_from_db()
    assert empty.label == "2031/32"

    admin_client.post(url(FinancialYear, "delete", empty.pk), {"post": "yes"})
    assert not FinancialYear.objects.filter(pk=empty.pk).exists()


def test_a_year_in_use_has_no_delete_page(admin_client, llr, make_scheme):
    make_scheme()
    assert admin_client.get(url(FinancialYear, "delete", llr.year.pk)).status_code == 403
    response = admin_client.post(url(FinancialYear, "delete", llr.year.pk), {"post": "yes"})
    assert response.status_code == 403
    assert FinancialYear.objects.filter(pk=llr.year.pk).exists()


def test_deleting_years_in_use_from_the_list_names_what_holds_them(admin_client, llr, make_scheme):
    scheme = make_scheme()
    selected = {"action": "delete_selected", "_selected_action": [llr.year.pk]}

    page = admin_client.post(url(FinancialYear, "changelist"), selected)
    assert PROTECTED in visible(page)
    assert NO_PERMISSION not in visible(page)
    assert scheme.reference in visible(page)

    admin_client.post(url(FinancialYear, "changelist"), {**selected, "post": "yes"})
    assert FinancialYear.objects.filter(pk=llr.year.pk).exists()


@pytest.mark.parametrize("model", [ProgrammeArea, AreaOfSpend], ids=lambda m: m.__name__)
def test_an_area_in_use_cannot_be_deleted_and_an_unused_one_can(
    admin_client, llr, make_scheme, model
):
    make_scheme()
    used = model.objects.get()
    unused = model.objects.create(name="Mental Health")

    assert admin_client.get(url(model, "delete", used.pk)).status_code == 403
    assert "Delete" not in visible(admin_client.get(url(model, "change", used.pk)))
    assert "Delete" in visible(admin_client.get(url(model, "change", unused.pk)))
    admin_client.post(url(model, "delete", unused.pk), {"post": "yes"})
    assert list(model.objects.all()) == [used]


# --- 2. names unique ignoring capitals ------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "existing", "message"),
    [
        (ProgrammeArea, "Planned Care", "A programme area with this name already exists"),
        (AreaOfSpend, "Elective Care", "An area of spend with this name already exists"),
    ],
    ids=["programme area", "area of spend"],
)
@pytest.mark.parametrize("typed", ["lower", "upper", "same"])
def test_a_name_differing_only_in_capitals_is_refused_under_the_name_field(
    admin_client, llr, model, existing, message, typed
):
    name = {"lower": existing.lower(), "upper": existing.upper(), "same": existing}[typed]
    response = admin_client.post(url(model, "add"), {"name": name})

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors == {
        "name": [f"{message} (names are compared ignoring capitals)."],
    }
    assert f"{message} (names are compared ignoring capitals)." in visible(response)
    assert model.objects.count() == 1


def test_renaming_an_area_to_another_ones_name_in_other_capitals_is_refused(admin_client, llr):
    other = ProgrammeArea.objects.create(name="CHC")
    response = admin_client.post(url(ProgrammeArea, "change", other.pk), {"name": "planned care"})
    assert response.context["adminform"].form.errors["name"]
    other.refresh_from_db()
    assert other.name == "CHC"


def test_changing_only_the_capitals_of_an_areas_own_name_is_allowed(admin_client, llr):
    area = llr.programme_area
    response = admin_client.post(url(ProgrammeArea, "change", area.pk), {"name": "PLANNED CARE"})
    assert response.status_code == 302
    area.refresh_from_db()
    assert area.name == "PLANNED CARE"


@pytest.mark.parametrize("model", [ProgrammeArea, AreaOfSpend], ids=lambda m: m.__name__)
def test_the_database_refuses_a_name_differing_only_in_capitals(llr, model):
    existing = model.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(name=existing.name.swapcase())


# --- 3. the role groups ---------------------------------------------------------------------


def test_a_role_groups_name_is_fixed_and_the_page_says_it_is_a_role(admin_client, llr):
    pmo = Group.objects.get(name=roles.PMO)
    page = admin_client.get(url(Group, "change", pmo.pk))
    assert 'name="name"' not in text(page)
    assert "One of the product's roles" in visible(page)
    assert "Delete" not in visible(page)

    response = admin_client.post(url(Group, "change", pmo.pk), {"name": "Programme office"})
    assert response.status_code == 302
    pmo.refresh_from_db()
    assert pmo.name == roles.PMO
    assert llr.users["elr-pmo"].groups.filter(name=roles.PMO).exists()


def test_a_role_group_cannot_be_deleted_one_by_one_or_from_the_list(admin_client, llr):
    viewer = Group.objects.get(name=roles.VIEWER)
    assert admin_client.get(url(Group, "delete", viewer.pk)).status_code == 403
    admin_client.post(url(Group, "delete", viewer.pk), {"post": "yes"})
    admin_client.post(
        url(Group, "changelist"),
        {"action": "delete_selected", "_selected_action": [viewer.pk], "post": "yes"},
    )
    assert Group.objects.filter(name=roles.VIEWER).exists()
    assert llr.users["elr-viewer"].groups.filter(name=roles.VIEWER).exists()


def test_any_other_group_is_renamed_and_deleted_as_before(admin_client, llr):
    other = Group.objects.create(name="Finance team")
    page = admin_client.get(url(Group, "change", other.pk))
    assert 'name="name"' in text(page)
    assert "One of the product's roles" not in visible(page)
    assert "Delete" in visible(page)

    admin_client.post(url(Group, "change", other.pk), {"name": "Finance office"})
    other.refresh_from_db()
    assert other.name == "Finance office"
    admin_client.post(url(Group, "delete", other.pk), {"post": "yes"})
    assert not Group.objects.filter(pk=other.pk).exists()


# --- 4. what each edit changed --------------------------------------------------------------


def test_a_change_records_the_old_and_new_value_on_the_history_page(admin_client, llr):
    target = QippTarget.objects.create(
        organisation=llr.org("ELR"), financial_year=llr.year, requirement=Decimal("19647000")
    )
    response = admin_client.post(
        url(QippTarget, "change", target.pk),
        {
            "organisation": target.organisation_id,
            "financial_year": llr.year.pk,
            "requirement": "19647500",
            "allocation": "",
        },
    )
    assert response.status_code == 302

    assert history(target) == ["Changed requirement from 19647000.00 to 19647500.00."]
    assert "Changed requirement from 19647000.00 to 19647500.00." in visible(
        admin_client.get(url(QippTarget, "history", target.pk))
    )


def test_a_change_of_several_fields_records_one_line_each_in_words(admin_client, llr):
    elr = llr.org("ELR")
    admin_client.post(
        url(Organisation, "change", elr.pk),
        {"code": "ELX", "name": elr.name, "system": llr.systems["NOT"].pk},
    )
    assert history(elr) == [
        "Changed code from ELR to ELX.\nChanged system from Leicester, Leicestershire and "
        "Rutland to Nottinghamshire."
    ]


def test_a_users_change_names_the_roles_before_and_after_and_never_a_password(admin_client, llr):
    user = llr.users["elr-viewer"]
    change = url(User, "change", user.pk)
    data = form_data(admin_client.get(change))
    data["is_active"] = []  # unticked
    data["groups"] = [str(Group.objects.get(name=roles.PMO).pk)]
    data["memberships-1-organisation"] = [str(llr.org("WL").pk)]  # the inline's blank row
    response = admin_client.post(change, data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    assert history(user) == [
        "Changed active from yes to no.\nChanged groups from Viewer to PMO.\n"
        f"Added membership “{user.memberships.get(organisation__code='WL')}”."
    ]
    password_change = reverse("admin:auth_user_password_change", args=[user.pk])
    admin_client.post(
        password_change,
        {"password1": "a-New-pass-phrase-9", "password2": "a-New-pass-phrase-9"},
    )
    user.refresh_from_db()
    newest = history(user)[0]
    assert newest == "Changed password."
    assert user.password not in newest and "a-New-pass-phrase-9" not in newest


def test_a_list_edit_records_the_old_and_new_value_too(admin_client, llr):
    weight = StageWeight.objects.create(
        system=llr.system, stage="development", weight_percent=Decimal("25")
    )
    response = admin_client.post(
        url(StageWeight, "changelist"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": weight.pk,
            "form-0-weight_percent": "30",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    assert history(weight) == ["Changed weight (%) from 25.00 to 30.00."]


def test_staff_read_every_admin_action_together_and_change_none(admin_client, llr):
    admin_client.post(url(ProgrammeArea, "change", llr.programme_area.pk), {"name": "Elective"})
    entry = LogEntry.objects.get()

    listing = visible(admin_client.get(url(LogEntry, "changelist")))
    assert "Changed name from Planned Care to Elective." in listing
    assert "admin" in listing and "Elective" in listing
    assert admin_client.get(url(LogEntry, "add")).status_code == 403
    admin_client.post(url(LogEntry, "change", entry.pk), {"change_message": "Nothing."})
    admin_client.post(url(LogEntry, "delete", entry.pk), {"post": "yes"})
    entry.refresh_from_db()
    assert entry.get_change_message() == "Changed name from Planned Care to Elective."


# --- 5. failed sign-ins stay on record ------------------------------------------------------


def test_failed_sign_ins_stay_on_record_after_the_person_is_unlocked(admin_client, llr, settings):
    settings.AXES_ENABLED = True
    stranger = Client()
    for _ in range(5):
        stranger.post(
            reverse("login"), {"username": "elr-pmo", "password": "wrong"}, REMOTE_ADDR="10.9.9.9"
        )
    attempt = AccessAttempt.objects.get(username="elr-pmo")
    admin_client.post(url(AccessAttempt, "delete", attempt.pk), {"post": "yes"})
    assert not AccessAttempt.objects.exists()

    failures = AccessFailureLog.objects.filter(username="elr-pmo", ip_address="10.9.9.9")
    assert failures.count() == 5
    assert visible(admin_client.get(url(AccessFailureLog, "changelist"))).count("elr-pmo") >= 5
    admin_client.post(url(AccessFailureLog, "delete", failures.first().pk), {"post": "yes"})
    assert failures.count() == 5


# --- 6. sign-off route rules that could never apply -----------------------------------------


def rule_form(llr, **bounds) -> dict:
    return {
        "organisation": llr.org("ELR").pk,
        "name": "Small schemes",
        "order": "1",
        "below": "",
        "at_least": "",
        "worst_risk": "",
        "route": Route.CHIEF_NURSE_ONLY,
        "active": "on",
        **bounds,
    }


@pytest.mark.parametrize(("at_least", "below"), [("100", "50"), ("50000", "50000")])
def test_a_route_rule_no_saving_could_meet_is_refused_under_below(
    admin_client, llr, at_least, below
):
    response = admin_client.post(
        url(RouteRule, "add"), rule_form(llr, at_least=at_least, below=below)
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["below"]
    assert "so this rule could never apply" in errors["below"][0]
    assert f"at least £{int(at_least):,} and below £{int(below):,}" in visible(response)
    assert not RouteRule.objects.exists()


@pytest.mark.parametrize(
    "bounds",
    [
        {"at_least": "50", "below": "100"},
        {"below": "50000"},
        {"at_least": "1000000"},
        {},
        # a scheme that invests more in the year than it saves has a negative net saving
        {"below": "0"},
    ],
)
def test_a_route_rule_some_saving_meets_is_saved(admin_client, llr, bounds):
    response = admin_client.post(url(RouteRule, "add"), rule_form(llr, **bounds))
    assert response.status_code == 302
    assert RouteRule.objects.count() == 1
