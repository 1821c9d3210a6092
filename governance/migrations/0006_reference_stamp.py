"""The reference stamp: a token that triggers change in the same transaction as any change to
the reference tables, so that each process may keep those tables in memory
(governance.reference) and read them again only when the token differs."""

from django.db import migrations, models

NAME = "reference"  # governance.reference.STAMP, and in the SQL below
TABLES = [
    "governance_system",
    "governance_organisation",
    "governance_financialyear",
    "governance_programmearea",
    "governance_areaofspend",
]

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION qipp_touch_reference() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO governance_stamp (name, token) VALUES ('reference', gen_random_uuid()::text)
    ON CONFLICT (name) DO UPDATE SET token = EXCLUDED.token;
    RETURN NULL;
END
$$;
"""
# SQLite has no statement triggers: one per row and kind of change.
SQLITE_TOUCH = (
    "INSERT INTO governance_stamp (name, token) VALUES ('reference', lower(hex(randomblob(16)))) "
    "ON CONFLICT (name) DO UPDATE SET token = excluded.token;"
)
SQLITE_EVENTS = ["INSERT", "UPDATE", "DELETE"]


def add_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER qipp_touch_reference "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION qipp_touch_reference()"
            )
    elif vendor == "sqlite":
        for table in TABLES:
            for event in SQLITE_EVENTS:
                schema_editor.execute(
                    f"CREATE TRIGGER qipp_touch_reference_{table}_{event.lower()} "
                    f"AFTER {event} ON {table} BEGIN {SQLITE_TOUCH} END"
                )
    schema_editor.execute(
        "INSERT INTO governance_stamp (name, token) VALUES (%s, %s)", [NAME, "initial"]
    )


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS qipp_touch_reference ON {table}")
        schema_editor.execute("DROP FUNCTION IF EXISTS qipp_touch_reference()")
    elif vendor == "sqlite":
        for table in TABLES:
            for event in SQLITE_EVENTS:
                schema_editor.execute(
                    f"DROP TRIGGER IF EXISTS qipp_touch_reference_{table}_{event.lower()}"
                )


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0005_append_only_history"),
    ]

    operations = [
        migrations.CreateModel(
            name="Stamp",
            fields=[
                ("name", models.CharField(max_length=30, primary_key=True, serialize=False)),
                ("token", models.CharField(max_length=40)),
            ],
        ),
        migrations.RunPython(add_triggers, drop_triggers),
    ]
