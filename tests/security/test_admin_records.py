"""Records the product keeps as evidence are listed in the admin but never deleted there
(ACCESS.md: staff manage reference data and users; the rest is written by the workflow)."""

import pytest
from axes.models import AccessAttempt, AccessLog
from django.urls import reverse
from django.utils import timezone

from governance.models import SchemeDocument
from notifications.models import Notification, OutboxEmail, QagPack
from tests.factories import SchemeFactory, add_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(lead, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    scheme = SchemeFactory(project_lead=lead)
    document = add_document(scheme, lead)
    now = timezone.now()
    return {
        SchemeDocument: document,
        OutboxEmail: OutboxEmail.objects.create(
            recipient="a@example.nhs.uk", subject="Sent", text_body="x", dedupe_key="k1"
        ),
        QagPack: QagPack.objects.create(
            system=scheme.organisation.system, meeting_date=now.date(), assembled_at=now
        ),
        Notification: Notification.objects.create(user=lead, kind="info", subject="Told"),
        AccessLog: AccessLog.objects.create(
            username="elr-project-lead", ip_address="127.0.0.1", user_agent="test"
        ),
    }


@pytest.mark.parametrize(
    "model",
    [SchemeDocument, OutboxEmail, QagPack, Notification, AccessLog],
    ids=lambda model: model.__name__,
)
def test_the_admin_lists_these_records_but_deletes_none(client, staff, records, model):
    row = records[model]
    name = f"{model._meta.app_label}_{model._meta.model_name}"
    client.force_login(staff)

    assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200
    delete = client.post(reverse(f"admin:{name}_delete", args=[row.pk]), {"post": "yes"})
    assert delete.status_code == 403
    client.post(
        reverse(f"admin:{name}_changelist"),
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
    )
    assert model.objects.filter(pk=row.pk).exists()


def test_notifications_cannot_be_written_in_the_admin(client, staff, records):
    client.force_login(staff)
    notice = records[Notification]
    assert client.get(reverse("admin:notifications_notification_add")).status_code == 403
    change = reverse("admin:notifications_notification_change", args=[notice.pk])
    assert client.post(change, {"subject": "Rewritten"}).status_code == 403
    notice.refresh_from_db()
    assert notice.subject == "Told"


def test_staff_still_unlock_a_username_by_deleting_its_attempts(client, staff):
    attempt = AccessAttempt.objects.create(
        username="elr-project-lead",
        ip_address="127.0.0.1",
        user_agent="test",
        failures_since_start=5,
    )
    client.force_login(staff)

    response = client.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
