"""Two people (or two tabs) editing one PID or one opportunity: the second save is refused,
and its form comes back merged as a shared document would be. A field the second page left
as drawn takes the value saved meanwhile; one it changed keeps its own; one both changed
keeps its own, with the saved value noted under it. Saving again then keeps both changes."""

from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from governance import services
from governance.models import (
    PLAN_FIELDS,
    AreaOfSpend,
    FinancialYear,
    Opportunity,
    Organisation,
    ProgrammeArea,
    Scheme,
    SchemeChange,
)
from governance.services.opportunities import opportunity_create
from tests.pages import visible

pytestmark = pytest.mark.django_db


class _PostForm(HTMLParser):
    """What a browser sends of a page's POST form: each field's value as drawn, a ticked box
    or chosen radio only, a list's chosen option (its first when none is), and a text area's
    lines joined with CR LF."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, list[str]] = {}
        self.in_form = False
        self.select = None  # (name, options, chosen)
        self.option = None
        self.textarea = None  # (name, parts)

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.in_form = attrs.get("method", "").lower() == "post"
        if not self.in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.fields.setdefault(name, []).append(attrs.get("value", "on"))
                return
            self.fields.setdefault(name, []).append(attrs.get("value", ""))
        elif tag == "select" and name:
            self.select = (name, [], [])
        elif tag == "option" and self.select:
            self.option = attrs.get("value", "")
            self.select[1].append(self.option)
            if "selected" in attrs:
                self.select[2].append(self.option)
        elif tag == "textarea" and name:
            self.textarea = (name, [])

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select" and self.select:
            name, options, chosen = self.select
            self.fields[name] = chosen or options[:1]
            self.select = None
        elif tag == "textarea" and self.textarea:
            name, parts = self.textarea
            typed = "".join(parts).removeprefix("\n")  # the line break after the tag
            typed = typed.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
            self.fields[name] = [typed]
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.textarea[1].append(data)


def page_form(response) -> dict[str, list[str]]:
    """The page's POST form as the browser would send it, untouched."""
    parser = _PostForm()
    parser.feed(response.content.decode())
    return parser.fields


def as_user(client, user):
    client.force_login(user)
    return client


# --- the PID ---


@pytest.fixture
def draft(people) -> Scheme:
    data = {
        "title": "Outpatient follow-up reduction",
        # two lines, saved as a service saves them (LF): a page sends them back as CR LF
        "description": "Fewer unnecessary follow-ups.\nPatients book one when they need it.",
        "organisation": Organisation.objects.get(code="ELR"),
        "financial_year": FinancialYear.objects.get(),
        "programme_area": ProgrammeArea.objects.get(),
        "area_of_spend": AreaOfSpend.objects.get(),
        "scheme_type": "transactional",
        "sro": people["elr-sro"],
        "project_lead": people["elr-project-lead"],
        "start_date": date(2019, 4, 1),
        **{name: Decimal("5000") for name in PLAN_FIELDS},
    }
    return services.scheme_create(by=people["elr-project-lead"], data=data)


NEW_DESCRIPTION = "Fewer unnecessary follow-ups.\r\nA GP recall at six weeks instead."


def test_a_pid_saved_meanwhile_comes_back_with_their_change_and_both_changes_stand(
    client, people, draft
):
    lead = as_user(client, people["elr-project-lead"])
    url = reverse("scheme_edit", args=[draft.pk])
    tab_a, tab_b = page_form(lead.get(url)), page_form(lead.get(url))
    assert lead.post(url, {**tab_a, "description": NEW_DESCRIPTION}).status_code == 302
    finance_lead = people["elr-finance-reviewer"]

    response = lead.post(url, {**tab_b, "plan_m01": "7,500", "finance_lead": finance_lead.pk})

    assert response.status_code == 200
    page = visible(response)
    assert (
        "Someone else saved this PID while you were editing it, so nothing was saved. You (in "
        "another tab) changed: Description. The form below holds those changes and yours. "
        "Check it, then save again to keep it." in page
    )
    assert "Also changed meanwhile" not in page  # no field changed on both
    form = response.context["form"]
    assert form["description"].value() == NEW_DESCRIPTION  # theirs: this tab left it
    assert form["plan_m01"].value() == "7,500"
    assert form["finance_lead"].value() == str(finance_lead.pk)
    draft.refresh_from_db()
    assert (draft.plan_m01, draft.finance_lead) == (Decimal("5000"), None)  # nothing saved

    assert lead.post(url, page_form(response)).status_code == 302

    draft.refresh_from_db()
    assert draft.description == NEW_DESCRIPTION
    assert (draft.plan_m01, draft.finance_lead) == (Decimal("7500"), finance_lead)
    # the second save changed only its own fields
    assert sorted(SchemeChange.objects.values_list("field", flat=True)) == [
        "Apr (month 1)",
        "description",
        "finance lead",
    ]


def test_a_pid_field_both_changed_keeps_yours_with_theirs_noted_under_it(client, people, draft):
    lead = as_user(client, people["elr-project-lead"])
    url = reverse("scheme_edit", args=[draft.pk])
    tab_a, tab_b = page_form(lead.get(url)), page_form(lead.get(url))
    lead.post(url, {**tab_a, "title": "Outpatient follow-ups: GP recall", "plan_m03": "6000"})

    response = lead.post(url, {**tab_b, "title": "Outpatient follow-ups (phase 2)"})

    page = visible(response)
    assert "You (in another tab) changed: Title, Jun." in page
    assert "where you both changed a field, yours is kept and theirs is shown under it" in page
    assert (
        "Title * Also changed meanwhile by you (in another tab): Outpatient follow-ups: GP "
        "recall. Yours is kept here." in page
    )
    form = response.context["form"]
    assert form["title"].value() == "Outpatient follow-ups (phase 2)"
    assert form["plan_m03"].value() == "£6,000"

    assert lead.post(url, page_form(response)).status_code == 302
    draft.refresh_from_db()
    assert (draft.title, draft.plan_m03) == ("Outpatient follow-ups (phase 2)", Decimal("6000"))


def test_an_amount_both_changed_is_noted_in_pounds(client, people, draft):
    lead = as_user(client, people["elr-project-lead"])
    url = reverse("scheme_edit", args=[draft.pk])
    tab = page_form(lead.get(url))
    services.scheme_update(
        scheme_id=draft.pk,
        by=people["elr-project-lead"],
        data={"plan_m02": Decimal("4000")},
        expected_version=None,
    )

    response = lead.post(url, {**tab, "plan_m02": "4.5k"})

    page = visible(response)
    assert "You (in another tab) changed: May." in page
    assert "May * Also changed meanwhile by you (in another tab): £4,000. Yours is kept" in page
    assert response.context["form"]["plan_m02"].value() == "4.5k"


def test_a_pid_page_whose_drawn_values_were_altered_keeps_all_it_typed(client, people, draft):
    lead = as_user(client, people["elr-project-lead"])
    url = reverse("scheme_edit", args=[draft.pk])
    tab_a, tab_b = page_form(lead.get(url)), page_form(lead.get(url))
    lead.post(url, {**tab_a, "description": NEW_DESCRIPTION})

    response = lead.post(url, {**tab_b, "drawn": "not signed here", "plan_m01": "7,500"})

    assert response.status_code == 200
    assert (
        "What you typed is below: check the PID on the scheme page, then save again to keep "
        "your version." in visible(response)
    )
    # with no drawn values to go by, nothing is taken from the other save
    assert response.context["form"]["description"].value() == tab_b["description"][0]
    draft.refresh_from_db()
    assert (draft.description, draft.plan_m01) == (NEW_DESCRIPTION, Decimal("5000"))


# --- the opportunity ---


@pytest.fixture
def opportunity(llr, people) -> Opportunity:
    return opportunity_create(
        by=people["elr-project-lead"],
        data={
            "title": "Social prescribing for frequent attenders",
            "description": "Link workers see patients who visit their practice most often.",
            "organisation": llr.org("ELR"),
            "financial_year": llr.year,
            "programme_area": llr.programme_area,
            "area_of_spend": llr.area_of_spend,
            "estimated_saving": Decimal("83000"),
            "owner": people["elr-project-lead"],
        },
    )


def test_an_opportunity_saved_meanwhile_comes_back_merged_and_both_changes_stand(
    client, people, opportunity
):
    url = reverse("opportunity_edit", args=[opportunity.pk])
    lead = as_user(client, people["elr-project-lead"])
    lead_page = page_form(lead.get(url))
    pmo = people["elr-pmo"]
    pmo_page = page_form(as_user(client, pmo).get(url))
    saved = client.post(url, {**pmo_page, "description": "PCN-wide link workers."})
    assert saved.status_code == 302

    lead = as_user(client, people["elr-project-lead"])
    response = lead.post(url, {**lead_page, "estimated_saving": "95k"})

    assert response.status_code == 200
    page = visible(response)
    assert (
        "This opportunity was changed meanwhile by someone else, so nothing was saved. "
        f"{pmo} changed: Description. The form below holds those changes and yours." in page
    )
    assert "Estimated saving in the year," not in page  # only the fields they changed
    form = response.context["form"]
    assert form["description"].value() == "PCN-wide link workers."
    assert form["estimated_saving"].value() == "95k"

    assert lead.post(url, page_form(response)).status_code == 302

    opportunity.refresh_from_db()
    assert opportunity.description == "PCN-wide link workers."
    assert opportunity.estimated_saving == Decimal("95000")


def test_an_opportunity_field_both_changed_keeps_yours_with_theirs_noted_under_it(
    client, people, opportunity
):
    url = reverse("opportunity_edit", args=[opportunity.pk])
    lead_page = page_form(as_user(client, people["elr-project-lead"]).get(url))
    pmo = people["elr-pmo"]
    pmo_page = page_form(as_user(client, pmo).get(url))
    client.post(url, {**pmo_page, "title": "Social prescribing, PCN-wide"})

    lead = as_user(client, people["elr-project-lead"])
    response = lead.post(url, {**lead_page, "title": "Social prescribing in two PCNs"})

    page = visible(response)
    assert f"{pmo} changed: Title." in page
    assert (
        f"Title * Also changed meanwhile by {pmo}: Social prescribing, PCN-wide. Yours is kept "
        "here." in page
    )
    assert response.context["form"]["title"].value() == "Social prescribing in two PCNs"
    opportunity.refresh_from_db()
    assert opportunity.title == "Social prescribing, PCN-wide"  # nothing saved yet
