"""Take out the stamps: the triggers of migrations 0006 and 0009, their functions and the
governance_stamp table. Pages now read the database as it is on every request; the only
triggers left are the append-only guards of the history tables (0005)."""

from django.db import migrations

REFERENCE_TABLES = [
    "governance_system",
    "governance_organisation",
    "governance_financialyear",
    "governance_programmearea",
    "governance_areaofspend",
]
POSTGRES_TRIGGERS = [
    *(("qipp_touch_reference", table) for table in REFERENCE_TABLES),
    ("qipp_touch_figures", "governance_monthlyreturn"),
    ("qipp_touch_figures_truncate", "governance_monthlyreturn"),
    *(
        (f"qipp_touch_{name}{suffix}", "governance_scheme")
        for name in ("figures", "schemes")
        for suffix in ("", "_changed", "_truncate")
    ),
]
POSTGRES_FUNCTIONS = ["qipp_touch_reference()", "qipp_touch_stamp()"]


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for trigger, table in POSTGRES_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        for function in POSTGRES_FUNCTIONS:
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}")
    elif vendor == "sqlite":
        # every trigger 0006 and 0009 made is named qipp_touch_...
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                ["qipp_touch_%"],
            )
            names = [name for (name,) in cursor.fetchall()]
        for name in names:
            schema_editor.execute(f'DROP TRIGGER IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0010_scheme_list_index"),
    ]

    operations = [
        # going back brings the table back empty, not its triggers: nothing reads them any more
        migrations.RunPython(drop_triggers, migrations.RunPython.noop),
        migrations.DeleteModel(name="Stamp"),
    ]
