"""The history is append-only: the transition log, the field history, the escalation history,
the refusal log, the sign-in log and the log of audit exports. On PostgreSQL the database
itself refuses to change or delete a row; in the admin nobody may add, change or delete one."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from django_fsm_log.models import StateLog

from governance.models import AccessRefusal, AuditExport, Scheme, SchemeChange, SchemeState
from identity.models import IdentityEvent
from notifications.models import Escalation, EscalationEvent, Rule
from tests.factories import SchemeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(lead):
    """One row in each history table, about one scheme in delivery."""
    scheme = SchemeFactory(state=SchemeState.IN_DELIVERY, project_lead=lead)
    now = timezone.now()
    escalation = Escalation.objects.create(
        scheme=scheme,
        rule=Rule.values[0],
        owner=scheme.sro,
        reason="Behind plan.",
        raised_at=now,
        last_fired_at=now,
    )
    return {
        StateLog: StateLog.objects.create(
            content_type=ContentType.objects.get_for_model(Scheme),
            object_id=scheme.pk,
            source_state=SchemeState.APPROVED,
            state=SchemeState.IN_DELIVERY,
            transition="start_delivery",
            by=lead,
        ),
        SchemeChange: SchemeChange.objects.create(
            scheme=scheme, changed_by=lead, field="title", old_value="Old", new_value="New"
        ),
        EscalationEvent: EscalationEvent.objects.create(
            escalation=escalation, at=now, by=lead, what="Raised"
        ),
        AccessRefusal: AccessRefusal.objects.create(
            user=lead, action="edit", target=scheme.reference, reason="Not a draft."
        ),
        IdentityEvent: IdentityEvent.objects.create(
            user=lead, kind=IdentityEvent.Kind.ROLE_ADDED, detail="Project lead"
        ),
        AuditExport: AuditExport.objects.create(
            by=lead, date_from=now.date(), date_to=now.date(), format="csv", rows=1
        ),
    }


def refused(sql: str, params) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as exc:
        assert "append-only" in str(exc)
        return True
    return False


@pytest.mark.postgres
@pytest.mark.parametrize(
    "model", [StateLog, SchemeChange, EscalationEvent, AccessRefusal, IdentityEvent, AuditExport]
)
def test_the_database_refuses_to_update_or_delete_a_history_row(history, model):
    row = history[model]
    table = model._meta.db_table
    assert refused(f"UPDATE {table} SET id = id WHERE id = %s", [row.pk])  # noqa: S608
    assert refused(f"DELETE FROM {table} WHERE id = %s", [row.pk])  # noqa: S608
    assert model.objects.filter(pk=row.pk).exists()


@pytest.mark.postgres
def test_the_database_still_takes_new_history_rows(history, lead):
    scheme = history[SchemeChange].scheme
    SchemeChange.objects.create(scheme=scheme, changed_by=lead, field="description")
    assert SchemeChange.objects.filter(scheme=scheme).count() == 2


@pytest.mark.postgres
def test_deleting_a_scheme_with_history_is_refused(history):
    scheme = history[SchemeChange].scheme
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        scheme.delete()
    assert Scheme.objects.filter(pk=scheme.pk).exists()


ADMIN_NAMES = {
    StateLog: "django_fsm_log_statelog",
    SchemeChange: "governance_schemechange",
    EscalationEvent: "notifications_escalationevent",
    AccessRefusal: "governance_accessrefusal",
    IdentityEvent: "identity_identityevent",
    AuditExport: "governance_auditexport",
}


@pytest.mark.parametrize("model", list(ADMIN_NAMES))
def test_the_admin_shows_history_but_refuses_to_add_change_or_delete_it(
    client, staff, history, model
):
    row = history[model]
    name = ADMIN_NAMES[model]
    client.force_login(staff)
    listing = client.get(reverse(f"admin:{name}_changelist"))
    assert listing.status_code == 200
    assert reverse(f"admin:{name}_add").encode() not in listing.content
    page = client.get(reverse(f"admin:{name}_change", args=[row.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.post(reverse(f"admin:{name}_change", args=[row.pk]), {}).status_code == 403
    assert client.get(reverse(f"admin:{name}_add")).status_code == 403
    delete = client.post(reverse(f"admin:{name}_delete", args=[row.pk]), {"post": "yes"})
    assert delete.status_code == 403
    bulk = client.post(
        reverse(f"admin:{name}_changelist"),
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)  # the changelist offers no such action
    assert model.objects.filter(pk=row.pk).exists()
