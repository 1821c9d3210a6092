"""The Pipeline: opportunities added, changed, closed and written up as a PID, as the people
allowed to; every refusal a page that says why (and on the refusal log); bad input refused
with an example; a stale page refused as "changed meanwhile"; the list, its download and its
cost."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from governance import roles
from governance.models import (
    AccessRefusal,
    AreaOfSpend,
    FinancialYear,
    Opportunity,
    OpportunityEvent,
    OpportunityStatus,
    Scheme,
    SchemeState,
)
from governance.selectors import history
from governance.services import ActionRefused, Conflict
from governance.services.opportunities import (
    AlreadyAdded,
    opportunity_close,
    opportunity_create,
    opportunity_update,
    opportunity_write_up,
    pid_start_date,
)
from tests.pages import table, text, visible

pytestmark = pytest.mark.django_db

CHANGED_MEANWHILE = "changed meanwhile"


@pytest.fixture
def add(llr, people):
    """`add(org="ELR", by=..., **fields)`: an opportunity added through the service, as the
    organisation's project lead unless told, owned by them unless told."""

    def make(org: str = "ELR", *, by=None, **fields) -> Opportunity:
        key = org.lower()
        by = by or people[f"{key}-project-lead"]
        data = {
            "title": "Social prescribing for frequent attenders",
            "description": "Link workers see patients who visit their practice most often.",
            "organisation": llr.org(org),
            "financial_year": llr.year,
            "programme_area": llr.programme_area,
            "area_of_spend": llr.area_of_spend,
            "estimated_saving": Decimal("83000"),
            "owner": people[f"{key}-project-lead"],
            **fields,
        }
        return opportunity_create(by=by, data=data)

    return make


def signed_in(client, user):
    client.force_login(user)
    return client


def form_data(llr, people, **overrides) -> dict:
    """The new-opportunity form as an ELR project lead fills it in."""
    return {
        "title": "Biosimilar adalimumab switch",
        "description": "Move patients to the biosimilar at their next review.",
        "organisation": llr.org("ELR").pk,
        "financial_year": llr.year.pk,
        "programme_area": llr.programme_area.pk,
        "area_of_spend": llr.area_of_spend.pk,
        "estimated_saving": "83k",
        "owner": people["elr-project-lead"].pk,
        **overrides,
    }


def edit_data(opportunity, **overrides) -> dict:
    return {
        "version": opportunity.version,
        "title": opportunity.title,
        "description": opportunity.description,
        "programme_area": opportunity.programme_area_id,
        "area_of_spend": opportunity.area_of_spend_id or "",
        "estimated_saving": str(opportunity.estimated_saving),
        "owner": opportunity.owner_id,
        **overrides,
    }


def write_up_data(opportunity, people, **overrides) -> dict:
    return {
        "version": opportunity.version,
        "scheme_type": "transformational",
        "sro": people["elr-sro"].pk,
        **overrides,
    }


def refused_with(response, reason: str) -> None:
    assert response.status_code == 403
    assert reason in text(response)


# --- adding ---


@pytest.mark.parametrize("who", ["elr-project-lead", "elr-pmo"])
def test_a_project_lead_or_the_pmo_adds_an_opportunity_with_the_saving_as_typed(
    client, llr, people, who
):
    signed_in(client, people[who])
    response = client.post(reverse("opportunity_create"), form_data(llr, people))

    opportunity = Opportunity.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("opportunity_detail", args=[opportunity.pk])
    assert opportunity.reference == "OPP-ELR-1920-001"
    assert opportunity.estimated_saving == Decimal("83000")
    assert opportunity.status == OpportunityStatus.OPEN
    assert opportunity.created_by == people[who]
    assert opportunity.owner == people["elr-project-lead"]
    (event,) = opportunity.events.all()
    assert event.what == "Created, estimated saving (£83,000)"
    assert event.by == people[who]
    page = visible(client.get(response["Location"]))
    assert "OPP-ELR-1920-001 Biosimilar adalimumab switch" in page
    assert "Created, estimated saving (£83,000)" in page


def test_the_next_opportunity_of_the_organisation_and_year_takes_the_next_number(add, people):
    add()
    add(title="Second idea")
    add("WL", title="WL idea")
    assert list(Opportunity.objects.order_by("pk").values_list("reference", flat=True)) == [
        "OPP-ELR-1920-001",
        "OPP-ELR-1920-002",
        "OPP-WL-1920-001",
    ]


def test_the_same_opportunity_added_twice_a_moment_apart_is_added_once(add, people):
    first = add()

    # the second submit of a double click, after the first was saved
    with pytest.raises(AlreadyAdded) as again:
        add()

    assert again.value.opportunity == first
    assert again.value.message == "You added OPP-ELR-1920-001 to the pipeline a moment ago."
    assert list(Opportunity.objects.values_list("reference", flat=True)) == ["OPP-ELR-1920-001"]
    assert OpportunityEvent.objects.count() == 1
    assert not AccessRefusal.objects.exists()


def test_the_add_page_sent_twice_shows_the_one_added(client, llr, people):
    signed_in(client, people["elr-project-lead"])
    client.post(reverse("opportunity_create"), form_data(llr, people))

    response = client.post(reverse("opportunity_create"), form_data(llr, people), follow=True)

    opportunity = Opportunity.objects.get()
    assert response.redirect_chain[-1][0] == reverse("opportunity_detail", args=[opportunity.pk])
    page = visible(response)
    assert "You added OPP-ELR-1920-001 to the pipeline a moment ago." in page
    assert "OPP-ELR-1920-001 Biosimilar adalimumab switch" in page


def test_the_same_title_is_a_new_opportunity_for_someone_else_or_later(add, people):
    add()
    add(by=people["elr-pmo"])  # a colleague's idea of the same name
    Opportunity.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    add()  # the same person, a while later: a new decision, not a double click
    assert Opportunity.objects.count() == 3


@pytest.mark.parametrize(
    "typed, message",
    [
        ("one thousand", "Enter an amount in pounds, like 83,000 or 83k."),
        ("-500", "Enter the saving as a positive amount."),
        ("1,000,000,000", "That is more than £1bn: check it."),
        ("", "This field is required."),
    ],
)
def test_a_saving_that_is_not_an_amount_is_refused_with_an_example(
    client, llr, people, typed, message
):
    signed_in(client, people["elr-project-lead"])
    response = client.post(
        reverse("opportunity_create"), form_data(llr, people, estimated_saving=typed)
    )
    assert response.status_code == 200
    page = visible(response)
    assert "There is a problem" in page
    assert f"Estimated saving in the year: {message}" in page
    assert typed in text(response)  # what was typed, shown back as typed
    assert not Opportunity.objects.exists()


def test_a_title_left_empty_is_refused(client, llr, people):
    signed_in(client, people["elr-project-lead"])
    response = client.post(reverse("opportunity_create"), form_data(llr, people, title=""))
    assert "Title: This field is required." in visible(response)
    assert not Opportunity.objects.exists()


def test_the_owner_must_be_one_of_the_organisations_people(client, llr, people):
    """A PMO of two organisations picks the owner among the people of both: one of the other
    organisation is refused, by name."""
    pmo = llr.add_user("two-org-pmo", ["elr", "wl"], roles.PMO)
    signed_in(client, pmo)
    response = client.post(
        reverse("opportunity_create"),
        form_data(llr, people, owner=people["wl-project-lead"].pk),
    )
    assert f"{people['wl-project-lead']} is not a member of ELR." in visible(response)
    assert not Opportunity.objects.exists()


@pytest.mark.parametrize("who", ["elr-viewer", "elr-sro", "elr-finance-reviewer"])
def test_nobody_else_adds_one_and_the_refusal_is_recorded(client, llr, people, who):
    signed_in(client, people[who])
    for response in (
        client.get(reverse("opportunity_create")),
        client.post(reverse("opportunity_create"), form_data(llr, people)),
    ):
        refused_with(response, "Only a project lead or the PMO can add an opportunity.")
    assert not Opportunity.objects.exists()
    assert AccessRefusal.objects.filter(user=people[who], action="opportunity_create").count() == 2


def test_another_organisations_pmo_cannot_add_one_to_elr(client, llr, people):
    signed_in(client, people["wl-pmo"])
    response = client.post(reverse("opportunity_create"), form_data(llr, people))
    assert "Select a valid choice" in visible(response)  # ELR is not among their choices
    with pytest.raises(ActionRefused, match="your own organisation only, not ELR"):
        opportunity_create(
            by=people["wl-pmo"],
            data={
                "title": "x",
                "organisation": llr.org("ELR"),
                "financial_year": llr.year,
                "programme_area": llr.programme_area,
                "estimated_saving": Decimal(1),
                "owner": people["elr-project-lead"],
            },
        )
    assert not Opportunity.objects.exists()
    assert AccessRefusal.objects.filter(user=people["wl-pmo"]).exists()


# --- seeing ---


def test_every_signed_in_user_of_the_system_sees_an_opportunity_and_no_one_else(
    client, add, people
):
    opportunity = add()
    url = reverse("opportunity_detail", args=[opportunity.pk])
    for who in ("elr-viewer", "elr-qag-member", "wl-viewer", "wl-pmo"):
        assert signed_in(client, people[who]).get(url).status_code == 200, who
    refused_with(
        signed_in(client, people["nn-pmo"]).get(url), "You do not have access to this opportunity."
    )
    assert AccessRefusal.objects.filter(
        user=people["nn-pmo"], target=f"opportunity {opportunity.pk}"
    ).exists()
    client.logout()
    assert client.get(url).status_code == 302  # to sign in
    assert (
        signed_in(client, people["elr-viewer"])
        .get(reverse("opportunity_detail", args=[opportunity.pk + 100]))
        .status_code
        == 404
    )


def test_a_viewer_reads_it_but_is_offered_no_button(client, add, people):
    opportunity = add()
    url = reverse("opportunity_detail", args=[opportunity.pk])
    page = text(signed_in(client, people["elr-viewer"]).get(url))
    assert "Social prescribing for frequent attenders" in page
    for button in ("Edit", "Close", "Write it up as a PID"):
        assert f">{button}</a>" not in page
    owners = text(signed_in(client, people["elr-project-lead"]).get(url))
    for button in ("Edit", "Close", "Write it up as a PID"):
        assert f">{button}</a>" in owners


# --- changing ---


@pytest.mark.parametrize("who", ["elr-clinical-reviewer", "elr-project-lead", "elr-pmo"])
def test_its_owner_a_project_lead_or_the_pmo_changes_it_and_the_change_is_in_its_history(
    client, add, people, who
):
    """The owner here is a GP (the clinical reviewer), who holds no pipeline role."""
    opportunity = add(owner=people["elr-clinical-reviewer"], by=people["elr-pmo"])
    signed_in(client, people[who])
    url = reverse("opportunity_edit", args=[opportunity.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, edit_data(opportunity, estimated_saving="£90,000"))

    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.estimated_saving == Decimal("90000")
    assert opportunity.version == 2
    event = opportunity.events.last()
    assert (event.by, event.what) == (people[who], "Changed estimated saving in the year")
    assert event.detail == "Estimated saving in the year: (£83,000) → (£90,000)"
    page = visible(client.get(reverse("opportunity_detail", args=[opportunity.pk])))
    assert "Saved 1 change." in page
    assert "Estimated saving in the year: (£83,000) → (£90,000)" in page


def test_saving_it_unchanged_changes_nothing(client, add, people):
    opportunity = add()
    signed_in(client, people["elr-project-lead"])
    client.post(reverse("opportunity_edit", args=[opportunity.pk]), edit_data(opportunity))
    opportunity.refresh_from_db()
    assert opportunity.version == 1
    assert opportunity.events.count() == 1


@pytest.mark.parametrize(
    "who, reason",
    [
        (
            "wl-pmo",
            "Only the opportunity's owner, or a project lead or the PMO of ELR, can change it.",
        ),
        ("wl-project-lead", "Only the opportunity's owner, or a project lead or the PMO of ELR"),
        ("elr-viewer", "Only the opportunity's owner, or a project lead or the PMO of ELR"),
        ("elr-sro", "Only the opportunity's owner, or a project lead or the PMO of ELR"),
        ("nn-pmo", "You do not have access to this opportunity."),
    ],
)
def test_anyone_else_is_refused_its_edit_and_close_with_the_reason_on_record(
    client, add, people, who, reason
):
    opportunity = add()
    signed_in(client, people[who])
    for name, data in (
        ("opportunity_edit", edit_data(opportunity, title="Taken over")),
        ("opportunity_close", {"version": 1, "reason": "Not for us."}),
    ):
        url = reverse(name, args=[opportunity.pk])
        refused_with(client.get(url), reason)
        refused_with(client.post(url, data), reason)
    opportunity.refresh_from_db()
    assert (opportunity.title, opportunity.status, opportunity.version) == (
        "Social prescribing for frequent attenders",
        OpportunityStatus.OPEN,
        1,
    )
    assert AccessRefusal.objects.filter(user=people[who]).count() == 4


def test_an_owner_who_left_the_organisation_no_longer_changes_it(client, add, people):
    owner = people["elr-clinical-reviewer"]
    opportunity = add(owner=owner)
    owner.memberships.all().delete()
    refused_with(
        signed_in(client, owner).get(reverse("opportunity_edit", args=[opportunity.pk])),
        "You do not have access to this opportunity.",
    )


def test_a_stale_edit_is_refused_as_changed_meanwhile_and_keeps_what_was_typed(client, add, people):
    opportunity = add()
    signed_in(client, people["elr-project-lead"])
    url = reverse("opportunity_edit", args=[opportunity.pk])
    drawn = edit_data(opportunity)  # the page as it was drawn: version 1
    # meanwhile the PMO saves a change
    opportunity_update(
        opportunity_id=opportunity.pk,
        by=people["elr-pmo"],
        data={"title": "Social prescribing, PCN-wide"},
        expected_version=1,
    )
    response = client.post(url, {**drawn, "estimated_saving": "95k"})

    assert response.status_code == 200
    assert CHANGED_MEANWHILE in visible(response)
    assert 'value="95k"' in text(response)  # what was typed
    opportunity.refresh_from_db()
    assert (opportunity.title, opportunity.estimated_saving, opportunity.version) == (
        "Social prescribing, PCN-wide",
        Decimal("83000"),
        2,
    )
    # the form now carries the saved version: saving again is a knowing choice, and goes
    response = client.post(url, {**edit_data(opportunity), "estimated_saving": "95k"})
    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.estimated_saving == Decimal("95000")
    # a conflict is someone else's change, not a refusal
    assert not AccessRefusal.objects.exists()


def test_the_service_refuses_a_write_over_a_newer_version(add, people):
    opportunity = add()
    opportunity_update(
        opportunity_id=opportunity.pk, by=people["elr-pmo"], data={"title": "A"}, expected_version=1
    )
    with pytest.raises(Conflict, match=CHANGED_MEANWHILE):
        opportunity_update(
            opportunity_id=opportunity.pk,
            by=people["elr-project-lead"],
            data={"title": "B"},
            expected_version=1,
        )


# --- closing ---


def test_closing_needs_a_reason_and_leaves_it_read_only(client, add, people):
    opportunity = add()
    signed_in(client, people["elr-pmo"])
    url = reverse("opportunity_close", args=[opportunity.pk])
    response = client.post(url, {"version": 1, "reason": ""})
    assert "Reason: This field is required." in visible(response)

    response = client.post(url, {"version": 1, "reason": "The practices have this in hand."})
    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.status == OpportunityStatus.CLOSED
    assert opportunity.closed_reason == "The practices have this in hand."
    event = opportunity.events.last()
    assert (event.what, event.detail) == ("Closed", "The practices have this in hand.")
    page = visible(client.get(reverse("opportunity_detail", args=[opportunity.pk])))
    assert "Closed: The practices have this in hand." in page

    reason = "OPP-ELR-1920-001 is closed: it can no longer be changed."
    for who in ("elr-pmo", "elr-project-lead"):
        signed_in(client, people[who])
        for name in ("opportunity_edit", "opportunity_close", "opportunity_write_up"):
            refused_with(client.get(reverse(name, args=[opportunity.pk])), reason)
        refused_with(
            client.post(
                reverse("opportunity_write_up", args=[opportunity.pk]),
                write_up_data(opportunity, people),
            ),
            reason,
        )
    assert not Scheme.objects.exists()


def test_a_stale_close_is_refused_as_changed_meanwhile(client, add, people):
    opportunity = add()
    opportunity_update(
        opportunity_id=opportunity.pk, by=people["elr-pmo"], data={"title": "A"}, expected_version=1
    )
    signed_in(client, people["elr-project-lead"])
    response = client.post(
        reverse("opportunity_close", args=[opportunity.pk]),
        {"version": 1, "reason": "Dropped."},
        follow=True,
    )
    assert CHANGED_MEANWHILE in visible(response)
    opportunity.refresh_from_db()
    assert opportunity.status == OpportunityStatus.OPEN


# --- writing it up as a PID ---


def test_its_owner_writes_it_up_as_a_draft_pid_with_its_fields_in_one_step(client, add, people):
    opportunity = add()
    signed_in(client, people["elr-project-lead"])
    url = reverse("opportunity_write_up", args=[opportunity.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "£0 in each month until you enter it" in visible(page)

    response = client.post(url, write_up_data(opportunity, people))

    scheme = Scheme.objects.get()
    assert response.status_code == 302
    assert response["Location"] == scheme.get_absolute_url()
    assert scheme.state == SchemeState.DRAFT
    assert scheme.reference == "ELR-1920-001"
    assert (scheme.title, scheme.description) == (opportunity.title, opportunity.description)
    assert (scheme.organisation, scheme.financial_year) == (
        opportunity.organisation,
        opportunity.financial_year,
    )
    assert (scheme.programme_area, scheme.area_of_spend) == (
        opportunity.programme_area,
        opportunity.area_of_spend,
    )
    assert scheme.project_lead == people["elr-project-lead"] == scheme.created_by
    assert scheme.sro == people["elr-sro"]
    assert scheme.scheme_type == "transformational"
    assert scheme.start_date == date(2019, 4, 1)  # the year is over: its first day
    assert scheme.annual_plan == 0
    opportunity.refresh_from_db()
    assert opportunity.status == OpportunityStatus.CONVERTED
    assert opportunity.scheme == scheme
    assert opportunity.version == 2
    event = opportunity.events.last()
    assert (event.by, event.what) == (people["elr-project-lead"], "Written up as PID ELR-1920-001")

    page = client.get(scheme.get_absolute_url())
    assert "Written up from opportunity OPP-ELR-1920-001" in visible(page)
    assert reverse("opportunity_detail", args=[opportunity.pk]) in text(page)
    assert "saved as a draft PID from OPP-ELR-1920-001" in visible(page)
    assert "The savings plan is £0 in every month." in visible(page)


def test_the_scheme_history_starts_with_the_opportunitys_events(client, add, people):
    opportunity = add()
    opportunity_update(
        opportunity_id=opportunity.pk,
        by=people["elr-pmo"],
        data={"estimated_saving": Decimal("90000")},
        expected_version=1,
    )
    scheme = opportunity_write_up(
        opportunity_id=opportunity.pk,
        by=people["elr-project-lead"],
        expected_version=2,
        scheme_type="transactional",
        sro=people["elr-sro"],
    )
    events = sorted(history(scheme), key=lambda e: e.at)
    assert [(e.what, e.who) for e in events[:2]] == [
        (
            "Opportunity OPP-ELR-1920-001 created, estimated saving (£83,000)",
            people["elr-project-lead"],
        ),
        ("Opportunity OPP-ELR-1920-001 changed estimated saving in the year", people["elr-pmo"]),
    ]
    assert events[1].detail == "Estimated saving in the year: (£83,000) → (£90,000)"
    assert "Opportunity OPP-ELR-1920-001 written up as PID ELR-1920-001" in [e.what for e in events]
    # the page, newest first: the write-up, then the scheme's creation, then the opportunity's
    # own past at the bottom
    shown = [e.what for e in history(scheme)]
    assert shown[-3:] == [
        "Created",
        "Opportunity OPP-ELR-1920-001 changed estimated saving in the year",
        "Opportunity OPP-ELR-1920-001 created, estimated saving (£83,000)",
    ]
    signed_in(client, people["elr-pmo"])
    page = visible(client.get(scheme.get_absolute_url()))
    assert "Opportunity OPP-ELR-1920-001 created, estimated saving (£83,000)" in page


def test_the_confirmation_page_asks_for_what_the_opportunity_lacks(client, add, people):
    opportunity = add(area_of_spend=None, description="")
    signed_in(client, people["elr-project-lead"])
    url = reverse("opportunity_write_up", args=[opportunity.pk])
    page = text(client.get(url))
    assert 'name="area_of_spend"' in page and 'name="description"' in page

    response = client.post(url, write_up_data(opportunity, people))
    page = visible(response)
    assert "Area of spend: This field is required." in page
    assert "Description: This field is required." in page
    assert not Scheme.objects.exists()

    spend = AreaOfSpend.objects.create(name="Primary Care")
    response = client.post(
        url,
        write_up_data(
            opportunity, people, area_of_spend=spend.pk, description="Link workers in each PCN."
        ),
    )
    assert response.status_code == 302
    scheme = Scheme.objects.get()
    assert (scheme.area_of_spend, scheme.description) == (spend, "Link workers in each PCN.")


def test_the_sro_is_chosen_for_the_user_only_when_there_is_no_choice_to_make(
    client, add, llr, people
):
    opportunity = add()
    signed_in(client, people["elr-project-lead"])
    url = reverse("opportunity_write_up", args=[opportunity.pk])
    sro = people["elr-sro"].pk
    assert f'value="{sro}" selected' in text(client.get(url))  # ELR's only SRO
    llr.add_user("elr-sro-2", "elr", roles.SRO)
    assert f'value="{sro}" selected' not in text(client.get(url))  # one of two: asked
    response = client.post(url, write_up_data(opportunity, people, sro=""))
    assert "SRO: This field is required." in visible(response)
    response = client.post(url, write_up_data(opportunity, people, sro=people["wl-sro"].pk))
    assert "SRO: Select a valid choice." in visible(response)
    assert not Scheme.objects.exists()


def test_a_pid_written_up_during_its_year_starts_next_month():
    year = FinancialYear(start_year=2019)
    assert pid_start_date(year, date(2019, 3, 20)) == date(2019, 4, 1)  # before the year
    assert pid_start_date(year, date(2019, 4, 1)) == date(2019, 5, 1)
    assert pid_start_date(year, date(2019, 12, 4)) == date(2020, 1, 1)
    assert pid_start_date(year, date(2020, 3, 10)) == date(2020, 3, 1)  # its last month
    assert pid_start_date(year, date(2020, 4, 2)) == date(2019, 4, 1)  # after it


def test_writing_it_up_twice_is_refused(client, add, people):
    opportunity = add()
    signed_in(client, people["elr-project-lead"])
    url = reverse("opportunity_write_up", args=[opportunity.pk])
    data = write_up_data(opportunity, people)
    assert client.post(url, data).status_code == 302
    again = client.post(url, data)  # a double click, or the back button

    refused_with(
        again, "OPP-ELR-1920-001 has been written up as a PID, ELR-1920-001: it can no longer"
    )
    assert Scheme.objects.count() == 1
    assert AccessRefusal.objects.filter(action="opportunity_write_up").count() == 1
    # and in the service, for two requests that passed the page's check at once
    with pytest.raises(ActionRefused, match="has been written up as a PID, ELR-1920-001"):
        opportunity_write_up(
            opportunity_id=opportunity.pk,
            by=people["elr-project-lead"],
            expected_version=1,
            scheme_type="transformational",
            sro=people["elr-sro"],
        )
    assert Scheme.objects.count() == 1
    # written up, it is read-only for everyone
    signed_in(client, people["elr-pmo"])
    refused_with(
        client.get(reverse("opportunity_edit", args=[opportunity.pk])),
        "has been written up as a PID",
    )


def test_a_stale_write_up_is_refused_as_changed_meanwhile(client, add, people):
    opportunity = add()
    data = write_up_data(opportunity, people)  # the confirmation page, drawn at version 1
    opportunity_update(
        opportunity_id=opportunity.pk,
        by=people["elr-pmo"],
        data={"title": "Social prescribing, PCN-wide"},
        expected_version=1,
    )
    signed_in(client, people["elr-project-lead"])
    response = client.post(
        reverse("opportunity_write_up", args=[opportunity.pk]), data, follow=True
    )
    assert CHANGED_MEANWHILE in visible(response)
    assert not Scheme.objects.exists()
    opportunity.refresh_from_db()
    assert opportunity.status == OpportunityStatus.OPEN


@pytest.mark.parametrize(
    "who, reason",
    [
        # a project lead who is not its owner: the PID's project lead is the owner
        ("elr-project-lead-2", "Only the opportunity's owner, ELR Project Lead, writes it up"),
        ("elr-pmo", "Only the opportunity's owner, ELR Project Lead, writes it up"),
        ("wl-pmo", "Only the opportunity's owner, ELR Project Lead, writes it up"),
        ("elr-viewer", "Only the opportunity's owner, ELR Project Lead, writes it up"),
        ("nn-project-lead", "You do not have access to this opportunity."),
    ],
)
def test_nobody_but_its_owner_writes_it_up(client, add, llr, people, who, reason):
    llr.add_user("elr-project-lead-2", "elr", roles.PROJECT_LEAD)
    opportunity = add()
    signed_in(client, people[who])
    url = reverse("opportunity_write_up", args=[opportunity.pk])
    refused_with(client.get(url), reason)
    refused_with(client.post(url, write_up_data(opportunity, people)), reason)
    assert not Scheme.objects.exists()
    assert Opportunity.objects.get().status == OpportunityStatus.OPEN


def test_an_owner_who_is_no_project_lead_is_told_to_hand_it_to_one(client, add, people):
    gp = people["elr-clinical-reviewer"]
    opportunity = add(owner=gp, by=people["elr-pmo"])
    signed_in(client, gp)
    url = reverse("opportunity_write_up", args=[opportunity.pk])
    refused_with(client.get(url), "Only a project lead can write a PID")
    # the PMO sees why there is no button, and hands it to a project lead
    signed_in(client, people["elr-pmo"])
    page = visible(client.get(reverse("opportunity_detail", args=[opportunity.pk])))
    assert "Only the opportunity's owner, ELR Clinical Reviewer, writes it up as a PID" in page
    client.post(
        reverse("opportunity_edit", args=[opportunity.pk]),
        edit_data(opportunity, owner=people["elr-project-lead"].pk),
    )
    signed_in(client, people["elr-project-lead"])
    opportunity.refresh_from_db()
    assert opportunity.events.last().detail == "Owner: ELR Clinical Reviewer → ELR Project Lead"
    response = client.post(url, write_up_data(opportunity, people))
    assert response.status_code == 302
    assert Scheme.objects.get().project_lead == people["elr-project-lead"]


# --- the list ---


@pytest.fixture
def pipeline(add, people, llr):
    """Opportunities of ELR (open, closed, written up), WL, and NN (another system)."""
    found = {
        "elr": add(),
        "elr-closed": add(title="Closed idea", estimated_saving=Decimal("1000.50")),
        "elr-converted": add(title="Converted idea"),
        "wl": add("WL", title="WL idea"),
        "nn": add("NN", title="NN idea"),
    }
    opportunity_close(
        opportunity_id=found["elr-closed"].pk,
        by=people["elr-pmo"],
        reason="No.",
        expected_version=1,
    )
    opportunity_write_up(
        opportunity_id=found["elr-converted"].pk,
        by=people["elr-project-lead"],
        expected_version=1,
        scheme_type="transformational",
        sro=people["elr-sro"],
    )
    return found


def listed(client, **filters) -> list[str]:
    response = client.get(reverse("pipeline"), filters)
    assert response.status_code == 200
    return [row[1] for row in table(response, "")[1:]]


def test_the_pipeline_lists_the_systems_opportunities_with_filters(client, pipeline, people):
    signed_in(client, people["elr-viewer"])
    everything = [
        "Social prescribing for frequent attenders",
        "Closed idea",
        "Converted idea",
        "WL idea",
    ]
    assert listed(client) == everything
    assert listed(client, organisation=pipeline["wl"].organisation_id) == ["WL idea"]
    assert listed(client, status="closed") == ["Closed idea"]
    assert listed(client, status="open") == ["Social prescribing for frequent attenders", "WL idea"]
    assert listed(client, q="converted") == ["Converted idea"]
    assert listed(client, q="OPP-WL") == ["WL idea"]
    assert listed(client, financial_year=pipeline["elr"].financial_year_id) == everything
    page = visible(client.get(reverse("pipeline")))
    assert "Written up as a PID (ELR-1920-001)" in page
    assert "(£1,000.50)" in page
    assert "Add an opportunity" not in page  # a viewer adds none
    signed_in(client, people["nn-viewer"])
    assert listed(client) == ["NN idea"]


def test_a_bad_filter_is_refused_on_the_page(client, pipeline, people):
    signed_in(client, people["elr-viewer"])
    response = client.get(reverse("pipeline"), {"status": "nonsense", "format": "csv"})
    assert response.status_code == 400
    assert "correct the filters below" in visible(response)


def test_the_download_has_the_pages_rows_and_headings(client, pipeline, people):
    signed_in(client, people["elr-pmo"])
    page = client.get(reverse("pipeline"), {"status": "", "q": "idea"})
    shown = table(page, "")
    response = client.get(reverse("pipeline"), {"status": "", "q": "idea", "format": "csv"})
    assert response["Content-Disposition"].startswith('attachment; filename="pipeline_')
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [*shown[0][:-1], "Estimated saving (£)"]
    assert [row[:-1] for row in rows[1:]] == [row[:-1] for row in shown[1:]]
    assert [row[-1] for row in rows[1:]] == ["-1000.50", "-83000", "-83000"]

    response = client.get(reverse("pipeline"), {"q": "idea", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert cells[0] == rows[0]
    assert [row[0] for row in cells[1:]] == [row[0] for row in rows[1:]]
    assert cells[1][-1] == -1000.5  # a number, in brackets by its format


def test_the_lists_queries_do_not_grow_with_its_rows(client, add, people, llr):
    signed_in(client, people["elr-pmo"])
    url = reverse("pipeline")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    for n in range(3):
        add(title=f"Idea {n}", area_of_spend=None if n % 2 else llr.area_of_spend)
    client.get(url)  # the session and the content types read once
    few = queries()
    for n in range(3, 30):
        org = "wl" if n % 3 else "elr"
        owner = people[f"{org}-clinical-reviewer" if n % 2 else f"{org}-project-lead"]
        add(org, title=f"Idea {n}", owner=owner, by=people[f"{org}-pmo"])
    assert queries() <= few


def test_the_download_costs_the_same_for_many_rows(client, add, people):
    signed_in(client, people["elr-pmo"])
    url = reverse("pipeline") + "?format=csv"
    add(title="Idea 0")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(1, 20):
        add(title=f"Idea {n}")
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) <= len(few)


def test_the_events_are_kept_in_order(add, people):
    opportunity = add()
    assert list(OpportunityEvent.objects.values_list("what", flat=True)) == [
        "Created, estimated saving (£83,000)"
    ]
    assert opportunity.events.get().detail == "Owner: ELR Project Lead"
