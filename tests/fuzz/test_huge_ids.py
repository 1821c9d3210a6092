"""Ids that name no row, posted where a page takes one: a number too large for the database
(which failed the query, a server error, until the forms refused it first), a negative one,
nought, the largest id there can be, a number written as 1e5, a blank. Each is answered with
the page's own message, never a server error; an id written with spaces round it or in other
digits is still the row's id."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from governance.models import AuditExport, Organisation
from qia.models import SignOff
from tests.access.demo import hidden_fields, problems, undone
from tests.pages import visible

pytestmark = pytest.mark.django_db

LONG = "1" * 5000  # past the 4,300 digits Python reads as a number
# too large for an id column: the query failed on them
HUGE = ["99999999999999999999", str(2**63), LONG]
# numbers an id column holds, but no row has
NO_ROW = ["-1", "0", str(2**63 - 1)]
NOT_A_NUMBER = ["1e5", "", "abc"]
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def written_otherwise(pk: int) -> list[str]:
    """The id as a browser might send it: with spaces round it, and in Arabic-Indic digits."""
    return [f" {pk} ", str(pk).translate(ARABIC_INDIC)]


def shown(value: str) -> str:
    """A typed value as a message repeats it: cut to 40 characters."""
    return value if len(value) <= 40 else value[:39] + "…"


def audit_choice(organisation: str) -> dict:
    today = timezone.localdate()
    return {
        "organisations": [organisation],
        "date_from": (today - timedelta(days=30)).isoformat(),
        "date_to": today.isoformat(),
        "kinds": ["reviews"],
        "format": "csv",
    }


@pytest.mark.parametrize("organisation", HUGE + NOT_A_NUMBER)
def test_the_audit_export_refuses_what_cannot_be_an_organisations_id(demo, organisation):
    with undone():
        response = demo.client("elr-pmo").post(reverse("audit_export"), audit_choice(organisation))
        assert response.status_code == 200
        page = visible(response)
        assert f"“{shown(organisation)}” is not an organisation: choose from the list." in page
        assert LONG not in page
        assert not AuditExport.objects.exists()


@pytest.mark.parametrize("organisation", NO_ROW)
def test_the_audit_export_says_there_is_no_such_organisation(demo, organisation):
    with undone():
        response = demo.client("elr-pmo").post(reverse("audit_export"), audit_choice(organisation))
        assert response.status_code == 200
        assert f"There is no organisation {organisation}: choose from the list." in visible(
            response
        )
        assert not AuditExport.objects.exists()


def test_the_audit_export_reads_an_id_written_otherwise_as_the_id(demo):
    elr = Organisation.objects.get(code="ELR")
    for organisation in written_otherwise(elr.pk):
        with undone():
            response = demo.client("elr-pmo").post(
                reverse("audit_export"), audit_choice(organisation)
            )
            assert response.status_code == 200
            assert response["Content-Disposition"].startswith("attachment;")
            assert AuditExport.objects.get().organisations == ["ELR"]


@pytest.mark.parametrize("organisation", HUGE + NO_ROW + NOT_A_NUMBER + ["WL"])
def test_a_token_for_an_organisation_that_cannot_be_chosen_is_refused_in_words(demo, organisation):
    if organisation == "WL":  # another organisation's id: not one of the user's
        organisation = str(Organisation.objects.get(code="WL").pk)
    with undone():
        response = demo.client("elr-finance-reviewer").post(
            reverse("api:tokens"), {"name": "Power BI", "organisations": [organisation]}
        )
        assert response.status_code == 400
        page = visible(response)
        assert "Organisations: Choose one or more of your organisations." in page
        assert "is not a valid value" not in page
        assert not ApiToken.objects.filter(name="Power BI").exists()


def test_a_token_for_an_id_written_otherwise_reads_that_organisation(demo):
    elr = Organisation.objects.get(code="ELR")
    for organisation in written_otherwise(elr.pk):
        with undone():
            response = demo.client("elr-finance-reviewer").post(
                reverse("api:tokens"), {"name": "Power BI", "organisations": [organisation]}
            )
            assert response.status_code == 200
            assert "Token Power BI made. Copy its key now." in visible(response)
            assert list(ApiToken.objects.get(name="Power BI").organisations.all()) == [elr]


@pytest.mark.parametrize("version", HUGE + NO_ROW + NOT_A_NUMBER)
def test_a_sign_off_naming_no_version_gets_the_form_again(demo, version):
    client = demo.client("elr-chief-nurse")
    url = reverse("qia_sign_off", args=[demo.objects["signing"].pk])
    hidden = hidden_fields(client.get(url))
    signed = SignOff.objects.count()
    with undone():
        # the double-click check finds nothing for that version: the form is checked as usual
        response = client.post(url, {**hidden, "qia_version": version})
        assert response.status_code == 200
        assert "Decision: This field is required." in visible(response)
        assert SignOff.objects.count() == signed


def test_a_sign_off_at_an_address_too_large_for_an_id_is_not_found(demo):
    client = demo.client("elr-chief-nurse")
    hidden = hidden_fields(client.get(reverse("qia_sign_off", args=[demo.objects["signing"].pk])))
    for pk in HUGE[:2]:
        with undone():
            response = client.post(f"/qia/{pk}/sign-off/", {**hidden, "qia_version": pk})
            assert response.status_code == 404


@pytest.mark.parametrize("version", ["99999999999999999999", str(2**63), LONG, "1e5"])
def test_several_sign_offs_refuse_what_cannot_be_a_versions_id(demo, version):
    signed = SignOff.objects.count()
    with undone():
        response = demo.client("elr-chief-nurse").post(
            reverse("qia_bulk_sign_off"), {"version": [version], "comment": "Assured."}
        )
        assert response.status_code == 200
        assert "Tick between 1 and 50 of the QIAs listed." in visible(response)
        assert SignOff.objects.count() == signed


@pytest.mark.parametrize("version", NO_ROW)
def test_several_sign_offs_say_a_version_of_no_row_was_not_signed(demo, version):
    signed = SignOff.objects.count()
    with undone():
        response = demo.client("elr-chief-nurse").post(
            reverse("qia_bulk_sign_off"), {"version": [version], "comment": "Assured."}
        )
        assert response.status_code == 302
        assert problems(response) == [
            f"QIA {version} was not signed. That QIA version does not exist."
        ]
        assert SignOff.objects.count() == signed
