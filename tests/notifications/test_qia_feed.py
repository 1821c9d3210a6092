"""What the escalations read from the QIA app (qia.escalation_feed): review dates come, QIA
flags in the QAG pack, who is done with a QIA step; and the QIA services' mails, drawn with
the scheme's state after its transition."""

from datetime import date

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from governance.models import SchemeState, System
from notifications import qag
from notifications.models import Escalation, EscalationStatus, QagListEntry, Rule
from notifications.sweep import sweep
from qia import escalation_feed
from qia import services as qia_services
from qia.models import (
    HEADINGS,
    FlagKind,
    PanelScore,
    QagFlag,
    Qia,
    QiaVersion,
    SignOff,
    VersionStatus,
)
from tests.notifications.conftest import at
from tests.pages import text
from tests.world import add_return

pytestmark = pytest.mark.django_db


def signed_off(scheme, *, number=1, review_date=date(2019, 6, 10)) -> QiaVersion:
    qia, _ = Qia.objects.get_or_create(scheme=scheme)
    return QiaVersion.objects.create(
        qia=qia,
        number=number,
        status=VersionStatus.SIGNED_OFF,
        signed_off_at=at(2018, 12, 10, 12),
        review_date=review_date,
        top_score=12,
        overall_score=12,
    )


@pytest.fixture
def on_track(make_scheme):
    scheme = make_scheme()
    for month in (1, 2):
        add_return(scheme, month, 1000)
    return scheme


def run(commit, when):
    with time_machine.travel(when, tick=False):
        return commit(sweep)


def test_a_qia_is_escalated_once_its_review_date_comes(on_track, commit):
    signed_off(on_track)
    assert run(commit, at(2019, 6, 9, 9)).counts()["raised"] == 0
    run(commit, at(2019, 6, 10, 9))
    escalation = Escalation.objects.get()
    assert escalation.rule == Rule.QIA_REVIEW_DUE
    assert "v1 was due for review on 10 June 2019" in escalation.reason
    assert {m.to[0] for m in mail.outbox} == {
        "elr-sro@example.nhs.uk",
        "elr-project-lead@example.nhs.uk",
        "elr-pmo@example.nhs.uk",
    }


def test_opening_a_reassessment_resolves_it_and_a_new_sign_off_keeps_it_resolved(on_track, commit):
    version = signed_off(on_track)
    run(commit, at(2019, 6, 11, 9))
    QiaVersion.objects.create(qia=version.qia, number=2, status=VersionStatus.PANEL)
    run(commit, at(2019, 6, 12, 9))
    assert Escalation.objects.get().status == EscalationStatus.RESOLVED
    QiaVersion.objects.filter(number=2).delete()
    signed_off(on_track, number=2, review_date=date(2019, 12, 12))
    assert run(commit, at(2019, 6, 13, 9)).counts()["raised"] == 0


def test_a_closed_scheme_is_not_escalated_for_its_qia(make_scheme, commit):
    from governance.models import SchemeState

    signed_off(make_scheme(SchemeState.COMPLETED))
    assert run(commit, at(2019, 6, 11, 9)).counts()["raised"] == 0


def flag_to_qag(version, kind, score, detail) -> QagFlag:
    """A QIA flag to QAG, raised on 20 June 2019, between two packs."""
    with time_machine.travel(at(2019, 6, 20, 12), tick=False):
        return QagFlag.objects.create(
            version=version, scheme=version.qia.scheme, kind=kind, score=score, detail=detail
        )


def test_the_pack_lists_extreme_qias_signed_off_since_the_last_pack(on_track):
    version = signed_off(on_track)
    flag_to_qag(version, FlagKind.EXTREME, 20, "Chief Nurse: mitigated by a weekly audit.")
    llr = System.objects.get(code="LLR")
    pack = qag.assemble(llr, meeting_date=date(2019, 6, 27), today=date(2019, 6, 25))
    (extreme,) = pack.qia_flags
    assert (extreme.scheme, extreme.what, extreme.score) == (
        on_track,
        "Extreme risk signed off",
        20,
    )
    assert "weekly audit" in extreme.detail
    pack.since = at(2019, 6, 21, 7)
    later = escalation_feed.flagged_to_qag(llr.pk, pack.since)
    assert later == []
    other = System.objects.get(code="NOT")
    assert escalation_feed.flagged_to_qag(other.pk, None) == []


def test_the_pack_lists_every_qia_flag_to_qag_a_dismissed_reassessment_too(
    on_track, client, people, commit
):
    signed_off(on_track)
    dismissed = QiaVersion.objects.create(
        qia=on_track.qia, number=2, status=VersionStatus.DISMISSED, drives_scheme=False
    )
    flag_to_qag(
        dismissed,
        FlagKind.DISMISSED,
        16,
        "QIA v2 dismissed on quality grounds by the panel: harm now outweighs.",
    )
    llr = System.objects.get(code="LLR")
    QagListEntry.objects.create(system=llr, email="secretary@example.nhs.uk")
    with time_machine.travel(at(2019, 6, 25, 9), tick=False):
        client.force_login(people["elr-qag-member"])
        page = text(client.get(reverse("qag_pack")))
        commit(qag.send_due_packs)
    flags = page.split("QIA flags to QAG since the last pack (1)")[1].split("</section>")[0]
    assert on_track.reference in flags
    assert "Re-assessment dismissed on quality grounds, agreed score 16" in flags
    assert "harm now outweighs" in flags
    assert reverse("qia_version", args=[on_track.pk, 2]) in flags
    body = next(m.body for m in mail.outbox if m.to == ["secretary@example.nhs.uk"])
    listed = body.split("QIA FLAGS TO QAG SINCE THE LAST PACK (1)")[1]
    assert f"{on_track.reference} {on_track.title} (ELR): Re-assessment dismissed" in listed
    assert "1 QIA flag to QAG since the last pack" in body


# --- who is reminded of a QIA step ---


def first_version(scheme, status) -> QiaVersion:
    qia, _ = Qia.objects.get_or_create(scheme=scheme)
    return QiaVersion.objects.create(qia=qia, number=1, status=status, drives_scheme=True)


def scored_by(version, user) -> None:
    PanelScore.objects.bulk_create(
        PanelScore(version=version, member=user, heading=heading, impact="none")
        for heading in HEADINGS
    )


def reminded(commit, when) -> list[str]:
    mail.outbox.clear()
    run(commit, when)
    return sorted(m.to[0].split("@")[0] for m in mail.outbox if "Reminder" in m.subject)


def test_a_panel_member_who_has_scored_is_not_reminded_to_score(make_scheme, commit, people):
    scheme = make_scheme(SchemeState.QIA_PANEL, state_changed_at=at(2019, 6, 1, 9))
    version = first_version(scheme, VersionStatus.SELF_ASSESSMENT)
    scored_by(version, people["elr-panel-member"])
    scored_by(version, people["elr-quality-lead"])  # still to record the panel's agreement
    assert reminded(commit, at(2019, 6, 16, 9)) == ["elr-quality-lead"]


def test_a_signatory_who_has_signed_is_not_reminded_to_sign(make_scheme, commit, people):
    scheme = make_scheme(SchemeState.AWAITING_SIGN_OFF, state_changed_at=at(2019, 6, 1, 9))
    version = first_version(scheme, VersionStatus.AWAITING_SIGN_OFF)
    SignOff.objects.create(
        version=version,
        capacity="chief_nurse",
        by=people["elr-chief-nurse"],
        decision="approved",
        comment="Content.",
    )
    assert reminded(commit, at(2019, 6, 11, 9)) == ["elr-clinical-chair"]


def test_a_member_of_the_versions_panel_is_not_asked_to_sign_it(make_scheme, commit, people):
    scheme = make_scheme(SchemeState.AWAITING_SIGN_OFF, state_changed_at=at(2019, 6, 1, 9))
    version = first_version(scheme, VersionStatus.AWAITING_SIGN_OFF)
    scored_by(version, people["elr-clinical-chair"])
    assert reminded(commit, at(2019, 6, 11, 9)) == ["elr-chief-nurse"]


# --- the QIA services' mails show the state the scheme moves to ---


NO_IMPACT = {heading: {"impact": "none", "rationale": "No change."} for heading in HEADINGS}


def scheme_line(message, scheme) -> str:
    return next(
        line for line in message.body.splitlines() if line.startswith(scheme.organisation.name)
    )


def test_sign_off_the_qia_says_the_scheme_awaits_sign_off(make_scheme, commit, people, settings):
    settings.QIA_PANEL_MIN_OTHER_MEMBERS = 0  # the quality lead's scores alone: a panel enough
    settings.QIA_PANEL_MIN_PROFESSIONS = 0
    scheme = make_scheme(SchemeState.QIA_PANEL, state_changed_at=at(2019, 6, 1, 9))
    version = first_version(scheme, VersionStatus.SELF_ASSESSMENT)
    scored_by(version, people["elr-quality-lead"])
    with time_machine.travel(at(2019, 6, 5, 9), tick=False):
        commit(
            lambda: qia_services.panel_agree(
                version_id=version.pk, by=people["elr-quality-lead"], headings=NO_IMPACT
            )
        )
    message = next(m for m in mail.outbox if m.to == ["elr-chief-nurse@example.nhs.uk"])
    assert message.subject.startswith("Sign off the QIA")
    assert scheme_line(message, scheme).endswith(", Awaiting sign-off")
    assert "Awaiting sign-off" in message.alternatives[0][0]


def test_the_extreme_risk_mail_says_the_scheme_is_approved(make_scheme, commit, people):
    scheme = make_scheme(SchemeState.AWAITING_SIGN_OFF, state_changed_at=at(2019, 6, 1, 9))
    version = first_version(scheme, VersionStatus.AWAITING_SIGN_OFF)
    QiaVersion.objects.filter(pk=version.pk).update(
        overall_score=20, top_score=20, equality_impact="no", agreed_by=people["elr-quality-lead"]
    )
    with time_machine.travel(at(2019, 6, 5, 9), tick=False):
        for signatory in ("elr-chief-nurse", "elr-clinical-chair"):
            commit(
                lambda who=signatory: qia_services.sign_off_record(
                    version_id=version.pk,
                    by=people[who],
                    decision="approved",
                    comment="Content.",
                    justification="Audited weekly.",
                )
            )
    scheme.refresh_from_db()
    assert scheme.state == SchemeState.APPROVED
    extreme = next(
        m
        for m in mail.outbox
        if m.subject.startswith("Extreme QIA risk signed off")
        and m.to == ["elr-qag-member@example.nhs.uk"]
    )
    assert scheme_line(extreme, scheme).endswith(", Approved")
    approved = next(m for m in mail.outbox if m.subject.startswith("Approved:"))
    assert scheme_line(approved, scheme).endswith(", Approved")
