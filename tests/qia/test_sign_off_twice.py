"""A signatory's own decision sent twice (a double click, a second tab) is quietly "already
recorded", never a refusal; a decision refused for any other reason keeps what was typed."""

import pytest
from django.urls import reverse

from governance.models import AccessRefusal, SchemeState
from governance.services import AlreadyDone
from qia.models import SignOff
from tests.qia.conftest import text

pytestmark = pytest.mark.django_db


def drawn(client, scheme) -> dict:
    """The sign-off form's hidden fields as the signatory's page drew them."""
    form = client.get(reverse("qia_sign_off", args=[scheme.pk])).context["form"]
    return {name: form.initial.get(name) or form.fields[name].initial for name in form.fields}


def decision(seen: dict, comment: str, choice: str = "approve") -> dict:
    return {
        "revision": seen["revision"],
        "qia_version": seen["qia_version"],
        "capacity": seen["capacity"],
        "decision": choice,
        "comment": comment,
    }


def test_the_clinical_chairs_second_tab_is_told_the_decision_is_already_recorded(qia, as_user):
    scheme = qia.awaiting_sign_off()
    chair = as_user(qia["elr-clinical-chair"])
    url = reverse("qia_sign_off", args=[scheme.pk])
    first_tab, second_tab = drawn(chair, scheme), drawn(chair, scheme)
    assert chair.post(url, decision(first_tab, "Approved.")).status_code == 302

    response = chair.post(url, decision(second_tab, "Approved again."), follow=True)

    assert response.status_code == 200
    page = text(response)
    assert "Your decision as Clinical Chair on QIA version 1 is already recorded: approved." in page
    assert "the other signature must be by someone else" not in page
    assert SignOff.objects.get().comment == "Approved."
    assert not AccessRefusal.objects.exists()


def test_the_chief_nurses_stale_tab_after_the_qia_is_signed_off_is_told_the_same(qia, as_user):
    scheme = qia.awaiting_sign_off()
    qia.sign(scheme, "elr-clinical-chair")
    nurse = as_user(qia["elr-chief-nurse"])
    url = reverse("qia_sign_off", args=[scheme.pk])
    first_tab, second_tab = drawn(nurse, scheme), drawn(nurse, scheme)
    assert nurse.post(url, decision(first_tab, "Approved.")).status_code == 302
    assert qia.fresh(scheme).state == SchemeState.APPROVED

    response = nurse.post(url, decision(second_tab, "Approved."), follow=True)

    page = text(response)
    assert (
        "Your decision as Chief Nurse and Quality Officer on QIA version 1 is already recorded: "
        "approved." in page
    )
    assert "This QIA is not awaiting sign-off." not in page
    assert SignOff.objects.count() == 2
    assert not AccessRefusal.objects.exists()


def test_the_service_takes_a_signatorys_second_decision_as_already_done(qia):
    # two submits so close together that both got past the page's check
    scheme = qia.awaiting_sign_off()
    qia.sign(scheme, "elr-clinical-chair")
    with pytest.raises(AlreadyDone, match="Your decision as Clinical Chair .* already recorded"):
        qia.sign(scheme, "elr-clinical-chair")
    assert SignOff.objects.count() == 1
    assert not AccessRefusal.objects.exists()


def test_a_refused_decision_shows_the_form_again_with_what_was_typed(qia, as_user):
    scheme = qia.awaiting_sign_off(equality="yes")  # no equality impact assessment attached
    nurse = as_user(qia["elr-chief-nurse"])
    seen = drawn(nurse, scheme)

    response = nurse.post(
        reverse("qia_sign_off", args=[scheme.pk]), decision(seen, "Safety net is sound.")
    )

    assert response.status_code == 200
    page = text(response)
    assert "the full equality impact assessment must be attached" in page
    assert "Nothing was saved: what you typed is below." in page
    assert "Safety net is sound." in page
    assert not SignOff.objects.exists()


def test_a_decision_after_the_other_signatory_declined_keeps_what_was_typed(qia, as_user):
    scheme = qia.awaiting_sign_off()
    chair = as_user(qia["elr-clinical-chair"])
    seen = drawn(chair, scheme)
    qia.sign(scheme, "elr-chief-nurse", decision="declined", comment="Add the audit plan.")

    response = chair.post(
        reverse("qia_sign_off", args=[scheme.pk]), decision(seen, "Clinically sound to me.")
    )

    assert response.status_code == 403
    page = text(response)
    assert "Clinically sound to me." in page
    assert not SignOff.objects.filter(by=qia["elr-clinical-chair"]).exists()
