"""A signatory signs several QIAs off in one go (qia/views/bulk_sign_off.py): each ticked is
signed on its own as from its own page; those that need more than a comment are left to their
own page; a refusal is reported for its QIA alone."""

import pytest
from django.urls import reverse
from django_fsm_log.models import StateLog

from governance.models import AccessRefusal, SchemeState
from qia.models import SignOff
from tests.pages import visible
from tests.qia.conftest import scores

pytestmark = pytest.mark.django_db

URL = reverse("qia_bulk_sign_off")
EXTREME = scores(patient_safety=(5, 4))


def test_the_chief_nurse_signs_two_qias_at_once_each_logged_on_its_own(client, qia, people):
    first, second = qia.awaiting_sign_off(), qia.awaiting_sign_off(qia.draft(title="Second"))
    extreme = qia.awaiting_sign_off(qia.draft(title="Third"), headings=EXTREME)
    client.force_login(people["elr-chief-nurse"])
    assert "Sign off several QIAs at once" in visible(client.get(reverse("my_tasks")))
    page = visible(client.get(URL))
    assert "2 QIAs you may sign here." in page
    assert f"{extreme.reference} Third , an extreme risk needs your own justification." in page
    ids = [qia.version(s).pk for s in (first, second)]
    response = client.post(URL, {"version": ids, "comment": "Assured at the quality committee."})
    assert response.status_code == 302
    for scheme in (first, second):
        signature = SignOff.objects.get(version__qia__scheme=scheme)
        assert (signature.by.username, signature.capacity) == ("elr-chief-nurse", "chief_nurse")
        log = StateLog.objects.for_(scheme).latest("id")
        assert (
            log.transition == "sign_off" and "Assured at the quality committee." in log.description
        )
    page = visible(client.get(URL))
    assert f"Signed off 2: {first.reference}; {second.reference}." in page


def test_one_refused_is_reported_and_the_others_are_signed(client, qia, people):
    mine = qia.awaiting_sign_off()
    extreme = qia.awaiting_sign_off(qia.draft(title="Extreme"), headings=EXTREME)
    client.force_login(people["elr-clinical-chair"])
    ids = [qia.version(mine).pk, qia.version(extreme).pk, 999999]
    client.post(URL, {"version": ids, "comment": "Fine."})
    page = visible(client.get(URL))
    assert f"Signed off 1: {mine.reference}." in page
    assert f"{extreme.reference} was not signed. The agreed risk is extreme (20)" in page
    assert "QIA 999999 was not signed." in page
    assert not SignOff.objects.filter(version__qia__scheme=extreme).exists()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"comment": "Fine."}, "Tick at least one QIA to sign off."),
        ({"version": ["x"], "comment": "Fine."}, "Tick between 1 and 50 of the QIAs listed."),
        ({"version": ["1"], "comment": ""}, "This field is required."),
    ],
)
def test_bad_input_is_told_and_nothing_is_signed(client, qia, people, data, message):
    qia.awaiting_sign_off()
    client.force_login(people["elr-chief-nurse"])
    response = client.post(URL, data)
    assert response.status_code == 200 and message in visible(response)
    assert not SignOff.objects.exists()


def test_only_a_signatory_reaches_the_page(client, people):
    client.force_login(people["elr-quality-lead"])
    response = client.get(URL)
    assert response.status_code == 403
    assert "Only the Chief Nurse and Quality Officer or the Clinical Chair" in visible(response)
    assert AccessRefusal.objects.filter(user=people["elr-quality-lead"]).exists()


def test_another_organisations_signatory_cannot_sign_by_posting_its_id(client, qia, people):
    scheme = qia.awaiting_sign_off()
    client.force_login(people["wl-chief-nurse"])
    client.post(URL, {"version": [qia.version(scheme).pk], "comment": "Fine."})
    assert not SignOff.objects.exists()
    assert qia.fresh(scheme).state == SchemeState.AWAITING_SIGN_OFF
    assert "was not signed." in visible(client.get(URL))
