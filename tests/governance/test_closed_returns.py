"""When a return may be written, the same on every path (the form, the import, assurance):
not for a month that has not begun, and not for a completed or stopped scheme once its year
has closed (governance.delivery.monthly_returns.returns_closed). While the year is open, a
closed scheme may still have a past month put right (test_delivery)."""

import io
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

from governance import importers
from governance.delivery import monthly_returns
from governance.models import PLAN_FIELDS, MonthlyReturn, Scheme, SchemeState, User
from governance.services import ActionRefused
from tests.governance import delivery_fixtures
from tests.pages import text
from tests.world import add_return

people = delivery_fixtures.people  # the world with the delivery tests' extra people

pytestmark = pytest.mark.django_db

DECEMBER_2020 = date(2020, 12, 5)  # 2019/20 closed on 11 May 2020
CLOSED = "ELR-1920-001 is completed and 2019/20 has closed: its returns are closed."


def import_returns(user, *rows: str) -> importers.ImportResult:
    data = "\n".join(["reference,month,actual", *rows]).encode()
    return importers.import_file("returns", io.BytesIO(data), name="returns.csv", by=user)


@pytest.fixture
def completed(make_scheme, people) -> Scheme:
    """A 2019/20 scheme completed with an assured March return."""
    scheme = make_scheme(SchemeState.COMPLETED)
    add_return(
        scheme,
        12,
        "900",
        assured="900",
        by=people["elr-finance-reviewer"],
        assured_by=people["elr-pmo"],
        assured_at=scheme.created_at,
    )
    return scheme


@time_machine.travel(DECEMBER_2020, tick=False)
def test_an_import_refuses_a_closed_years_completed_scheme_and_changes_nothing(people, completed):
    result = import_returns(people["elr-pmo"], "ELR-1920-001,12,1")

    assert [str(error) for error in result.errors] == [f"row 2: {CLOSED}"]
    kept = MonthlyReturn.objects.get(scheme=completed)
    assert (kept.actual, kept.pmo_assured) == (Decimal("900"), Decimal("900"))


@time_machine.travel(DECEMBER_2020, tick=False)
def test_the_finance_leads_correction_form_is_refused_with_the_reason(client, people, completed):
    client.force_login(people["elr-finance-reviewer"])

    response = client.get(reverse("return_edit", args=[completed.pk, 12]))

    assert response.status_code == 403 and CLOSED in text(response)
    posted = client.post(
        reverse("return_edit", args=[completed.pk, 12]), {"actual": "1", "token": ""}
    )
    assert posted.status_code == 403
    assert MonthlyReturn.objects.get(scheme=completed).actual == Decimal("900")


@time_machine.travel(DECEMBER_2020, tick=False)
def test_assurance_is_refused_too_on_its_page_and_in_the_service(client, people, completed):
    client.force_login(people["elr-pmo-2"])

    response = client.get(reverse("return_assure", args=[completed.pk, 12]))

    assert response.status_code == 403 and CLOSED in text(response)
    with pytest.raises(ActionRefused, match=CLOSED):
        monthly_returns.return_assure(
            scheme_id=completed.pk, month=12, by=people["elr-pmo-2"], value=Decimal("800")
        )


@time_machine.travel(DECEMBER_2020, tick=False)
def test_a_stopped_schemes_returns_close_with_its_year_too(people, make_scheme):
    stopped = make_scheme(SchemeState.STOPPED)

    with pytest.raises(ActionRefused, match="is stopped and 2019/20 has closed"):
        monthly_returns.return_save(
            scheme_id=stopped.pk, month=3, by=people["elr-finance-reviewer"], actual=Decimal(5)
        )
    assert not stopped.returns.exists()


@time_machine.travel(DECEMBER_2020, tick=False)
def test_a_closed_years_scheme_still_in_delivery_takes_its_returns(people, make_scheme):
    """How a past year loaded as it stood (qipp_import --historical) gets its returns."""
    make_scheme()

    result = import_returns(people["elr-pmo"], "ELR-1920-001,12,1000")

    assert result.ok and result.created == 1


# --- a month that has not begun, on the form and in the import alike ---

NOT_STARTED = "Mar 2020 has not started yet: its return can be entered from 1 March 2020."


@time_machine.travel(date(2019, 12, 5), tick=False)
def test_an_import_refuses_a_return_for_a_month_not_begun_in_the_forms_words(
    client, people, make_scheme
):
    scheme = make_scheme()

    result = import_returns(people["elr-pmo"], "ELR-1920-001,12,1000", "ELR-1920-001,8,1000")

    assert [str(error) for error in result.errors] == [f"row 2: {NOT_STARTED}"]
    assert not scheme.returns.exists()  # the whole file, or nothing
    client.force_login(people["elr-finance-reviewer"])
    page = client.post(
        reverse("return_new", args=[scheme.pk]), {"month": "12", "actual": "1000", "token": ""}
    )
    assert NOT_STARTED in text(page)


# --- a past year loaded as it stood: only once it has closed ---


def historical_plans(tmp_path) -> CommandError:
    row = {
        "reference": "ELR-1920-001",
        "title": "Virtual wards",
        "organisation": "ELR",
        "financial_year": "2019/20",
        "programme_area": "Planned Care",
        "area_of_spend": "Elective Care",
        "scheme_type": "transactional",
        "recovery": "no",
        **{name: "1000" for name in PLAN_FIELDS},
    }
    path = tmp_path / "plans.csv"
    path.write_text(",".join(row) + "\n" + ",".join(row.values()) + "\n")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "qipp_import", "plans", str(path), "--historical", stdout=io.StringIO(), stderr=err
        )
    return err.getvalue()


@time_machine.travel(date(2020, 4, 20), tick=False)
def test_a_year_ended_but_not_closed_is_not_loaded_as_it_stood(people, tmp_path):
    User.objects.create_superuser("admin", password="pw")

    err = historical_plans(tmp_path)

    assert "ELR-1920-001 is of 2019/20, which has not closed (it closes on 11 May 2020" in err
    assert not Scheme.objects.exists()
