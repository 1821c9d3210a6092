"""Deputies at QIA sign-off and at the panel (ACCESS.md "Deputies"): a deputy signs for the
person away in the one capacity they cover, and the segregation of duties binds both people:
no second signature where either gave the first, none from someone on the version's panel."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse
from django_fsm_log.models import StateLog

from governance import deputies, roles
from governance.models import DeputyAct, SchemeState
from governance.services import ActionRefused
from qia import services
from qia.models import SignOff, VersionStatus
from tests.pages import visible
from tests.qia.conftest import MODERATE, mitigations

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _during_the_leave():
    with time_machine.travel(date(2019, 6, 3), tick=False):
        yield


def delegate(principal, deputy, role, *, admin=False, by=None):
    return deputies.name_deputy(
        by=by or principal,
        principal=principal,
        deputy=deputy,
        role=role,
        organisation=principal.organisations.get(code="ELR"),
        starts_on=date(2019, 6, 3),
        ends_on=date(2019, 6, 14),
        admin=admin,
    )


def acting(user, delegation):
    """The user as DeputyMiddleware leaves them for a page opened from their inbox."""
    user.deputising = deputies.deputising_through(user, delegation.pk)
    assert user.deputising is not None
    return user


def sign_page(client, scheme, delegation, **data):
    url = reverse("qia_sign_off", args=[scheme.pk]) + f"?for={delegation.pk}"
    return client.post(url, {"decision": "approve", "comment": "Assured.", **data})


def test_a_deputy_signs_for_the_clinical_chair_and_the_record_names_both(client, qia, people):
    scheme = qia.awaiting_sign_off()
    qia.sign(scheme, "elr-chief-nurse")
    chair = people["elr-clinical-chair"]
    admin = qia.people["elr-pmo"]
    admin.is_staff = True
    admin.save()
    # an administrator names a deputy who does not hold the role
    stand_in = people["elr-viewer"]
    delegation = delegate(chair, stand_in, roles.CLINICAL_CHAIR, admin=True, by=admin)
    client.force_login(stand_in)
    version = qia.version(scheme)
    page = client.get(reverse("qia_sign_off", args=[scheme.pk]) + f"?for={delegation.pk}")
    assert page.status_code == 200
    assert "You are acting for ELR Clinical Chair" in visible(page)
    response = sign_page(client, scheme, delegation, revision=version.revision)
    assert response.status_code == 302, visible(response)
    signature = SignOff.objects.get(capacity="clinical_chair")
    assert (signature.by, signature.on_behalf_of) == (stand_in, chair)
    assert qia.fresh(scheme).state == SchemeState.APPROVED
    log = StateLog.objects.for_(scheme).latest("id")
    assert log.description.endswith("(ELR Viewer for ELR Clinical Chair)")
    assert DeputyAct.objects.filter(delegation=delegation, scheme=scheme).exists()
    shown = visible(client.get(reverse("qia_detail", args=[scheme.pk])))
    assert "ELR Viewer for ELR Clinical Chair" in shown


def test_a_deputy_who_gave_the_first_signature_may_not_give_the_second_for_someone(qia, llr):
    scheme = qia.awaiting_sign_off()
    # the Chief Nurse signs first, then deputises for the Clinical Chair
    qia.sign(scheme, "elr-chief-nurse")
    nurse = qia.people["elr-chief-nurse"]
    delegation = delegate(
        qia.people["elr-clinical-chair"], nurse, roles.CLINICAL_CHAIR, admin=True, by=nurse
    )
    with pytest.raises(ActionRefused, match="You signed this QIA version already"):
        _sign(qia, scheme, acting(nurse, delegation))
    assert qia.version(scheme).status == VersionStatus.AWAITING_SIGN_OFF


def _sign(qia, scheme, user, **kwargs):
    return services.sign_off_record(
        version_id=qia.version(scheme).pk, by=user, decision="approved", comment="Fine.", **kwargs
    )


def test_nobody_gives_the_second_signature_in_their_own_right_after_giving_the_first_as_a_deputy(
    qia, llr
):
    scheme = qia.awaiting_sign_off()
    nurse = qia.people["elr-chief-nurse"]
    # the Clinical Chair deputises for the Chief Nurse and signs as Chief Nurse for her
    chair = qia.people["elr-clinical-chair"]
    delegation = delegate(nurse, chair, roles.CHIEF_NURSE, admin=True, by=nurse)
    _sign(qia, scheme, acting(chair, delegation))
    signature = SignOff.objects.get()
    assert (signature.capacity, signature.on_behalf_of) == ("chief_nurse", nurse)
    chair = type(chair).objects.get(pk=chair.pk)  # back in their own right
    with pytest.raises(ActionRefused, match="already signed this QIA version"):
        _sign(qia, scheme, chair)


def test_the_principal_may_not_give_the_second_signature_after_their_deputy_gave_the_first(
    qia, llr
):
    scheme = qia.awaiting_sign_off()
    nurse = qia.people["elr-chief-nurse"]
    nurse.groups.add(*type(nurse.groups.first()).objects.filter(name=roles.CLINICAL_CHAIR))
    nurse = type(nurse).objects.get(pk=nurse.pk)
    deputy = llr.add_user("elr-nurse-deputy", "elr", roles.CHIEF_NURSE)
    delegation = delegate(nurse, deputy, roles.CHIEF_NURSE)
    _sign(qia, scheme, acting(deputy, delegation))
    with pytest.raises(ActionRefused, match="already signed this QIA version as Chief Nurse"):
        _sign(qia, scheme, nurse, capacity="clinical_chair")


def test_a_deputy_signs_only_in_the_capacity_they_cover(qia, llr):
    scheme = qia.awaiting_sign_off()
    nurse = qia.people["elr-chief-nurse"]
    deputy = llr.add_user("elr-nurse-deputy", "elr", roles.CHIEF_NURSE)
    delegation = delegate(nurse, deputy, roles.CHIEF_NURSE)
    with pytest.raises(ActionRefused, match="you cannot sign as Clinical Chair"):
        _sign(qia, scheme, acting(deputy, delegation), capacity="clinical_chair")


def test_a_deputy_who_was_on_the_panel_may_not_sign_it_off(qia, people):
    scheme = qia.awaiting_sign_off()
    member = people["elr-panel-member"]  # scored this version at the panel
    delegation = delegate(
        people["elr-chief-nurse"],
        member,
        roles.CHIEF_NURSE,
        admin=True,
        by=people["elr-chief-nurse"],
    )
    with pytest.raises(ActionRefused, match="You were on the panel for this QIA version"):
        _sign(qia, scheme, acting(member, delegation))


def test_the_quality_leads_deputy_agrees_at_the_panel_for_them(client, qia, llr):
    scheme = qia.scored()
    lead = qia.people["elr-quality-lead"]
    deputy = llr.add_user("elr-quality-deputy", "elr", roles.QUALITY_LEAD, profession="quality")
    delegation = delegate(lead, deputy, roles.QUALITY_LEAD)
    qia.score(scheme, "elr-quality-deputy")  # who chairs the panel scores as one of it
    client.force_login(deputy)
    inbox = visible(client.get(reverse("my_tasks")))
    assert "For ELR Quality Lead, as Quality lead (ELR)" in inbox
    assert "for ELR Quality Lead" in inbox
    services.panel_agree(
        version_id=qia.version(scheme).pk,
        by=acting(deputy, delegation),
        headings=MODERATE,
        mitigations=mitigations(MODERATE),
    )
    assert qia.fresh(scheme).state == SchemeState.AWAITING_SIGN_OFF
    log = StateLog.objects.for_(scheme).latest("id")
    assert log.by == deputy and log.description.endswith(
        "(elr-quality-deputy for ELR Quality Lead)"
    )
    version = qia.version(scheme)
    assert (version.agreed_by, version.agreed_for) == (deputy, lead)
    client.force_login(lead)
    shown = visible(client.get(reverse("qia_detail", args=[scheme.pk])))
    assert "elr-quality-deputy for ELR Quality Lead" in shown


def test_the_quality_leads_deputy_may_not_agree_a_scheme_whose_team_the_lead_is_on(qia, llr):
    lead = qia.people["elr-quality-lead"]
    scheme = qia.at_panel(qia.draft(clinical_lead=lead))
    deputy = llr.add_user("elr-quality-deputy", "elr", roles.QUALITY_LEAD, profession="quality")
    delegation = delegate(lead, deputy, roles.QUALITY_LEAD)
    for member in ("elr-panel-member", "elr-panel-member-2", "elr-quality-deputy"):
        qia.score(scheme, member)
    with pytest.raises(ActionRefused, match="who may not do this: You are this scheme's clinical"):
        services.panel_agree(
            version_id=qia.version(scheme).pk,
            by=acting(deputy, delegation),
            headings=MODERATE,
            mitigations=mitigations(MODERATE),
        )


def test_a_deputy_is_not_given_the_conditions_their_principal_owns(client, qia, llr):
    """A condition is given to a person by name: it stays theirs while a deputy acts for them."""
    lead = qia.people["elr-quality-lead"]
    scheme = qia.awaiting_sign_off()
    services.sign_off_record(
        version_id=qia.version(scheme).pk,
        by=qia.people["elr-chief-nurse"],
        decision="approved",
        comment="On a condition.",
        conditions=[
            {"text": "Audit the first 50 patients.", "owner": lead, "due_on": date(2019, 9, 1)}
        ],
    )
    deputy = llr.add_user("elr-quality-deputy", "elr", roles.QUALITY_LEAD, profession="quality")
    delegate(lead, deputy, roles.QUALITY_LEAD)
    client.force_login(lead)
    assert "Meet the condition" in visible(client.get(reverse("my_tasks")))
    client.force_login(deputy)
    inbox = visible(client.get(reverse("my_tasks")))
    assert "For ELR Quality Lead" in inbox and "Meet the condition" not in inbox
