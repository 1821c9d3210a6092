"""The history tables are append-only in the database itself (PostgreSQL): a trigger refuses
every UPDATE and DELETE of a row, whoever sends it. Elsewhere (SQLite) this does nothing."""

from django.db import migrations

# The transition log, field history, escalation history and refusal log.
TABLES = [
    "django_fsm_log_statelog",
    "governance_schemechange",
    "notifications_escalationevent",
    "governance_accessrefusal",
]

FUNCTION = """
CREATE OR REPLACE FUNCTION qipp_refuse_history_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'history is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def add_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
    for table in TABLES:
        # per row: a DELETE or UPDATE that matches no row stays harmless
        schema_editor.execute(
            f"CREATE TRIGGER qipp_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION qipp_refuse_history_change()"
        )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS qipp_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS qipp_refuse_history_change()")


class Migration(migrations.Migration):

    dependencies = [
        ("governance", "0004_user_session"),
        ("notifications", "0002_escalations_outbox_qag"),
        ("django_fsm_log", "0004_auto_20190131_0341"),
    ]

    operations = [migrations.RunPython(add_triggers, drop_triggers)]
