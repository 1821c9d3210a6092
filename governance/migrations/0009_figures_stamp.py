"""The figures stamp: a token that triggers change whenever a transaction that changed the
figures the reports and the dashboard add up commits (a monthly return added, changed or
removed; a scheme added or removed, or its plan, organisation, year, areas, recovery flag or
counting changed), so that each process may keep a year's figures in memory
(governance.figures) and read them again only when the token differs.

A transition that only moves a scheme between counted states leaves the token alone.

On PostgreSQL the triggers are deferred to the commit, and the first of a transaction's
changes is the only one that writes the stamp: its row is then locked only while the
transaction commits, so two transactions never wait on each other through it.
"""

from django.db import migrations

NAME = "figures"  # governance.figures.STAMP, and in the SQL below
PLAN = [f"plan_m{m:02d}" for m in range(1, 13)]
COUNTS = ["organisation_id", "financial_year_id", "programme_area_id", "area_of_spend_id"]
COUNTS += ["is_recovery", *PLAN]
NOT_COUNTED = "('rejected', 'withdrawn')"  # governance.figures.NOT_COUNTED


def changed(distinct: str) -> str:
    """The UPDATE condition under which a scheme's figures change."""
    return " OR ".join(
        [f"OLD.{c} {distinct} NEW.{c}" for c in COUNTS]
        + [f"(OLD.state IN {NOT_COUNTED}) {distinct} (NEW.state IN {NOT_COUNTED})"]
    )


POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION qipp_touch_figures() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- once a transaction: the stamp row this transaction wrote already has a new token
    PERFORM 1 FROM governance_stamp WHERE name = 'figures' AND xmin = pg_current_xact_id()::xid;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO governance_stamp (name, token) VALUES ('figures', gen_random_uuid()::text)
    ON CONFLICT (name) DO UPDATE SET token = EXCLUDED.token;
    RETURN NULL;
END
$$;
"""
POSTGRES_TRIGGERS = [
    # (name, table, events, condition)
    ("qipp_touch_figures", "governance_monthlyreturn", "INSERT OR UPDATE OR DELETE", None),
    ("qipp_touch_figures", "governance_scheme", "INSERT OR DELETE", None),
    ("qipp_touch_figures_changed", "governance_scheme", "UPDATE", changed("IS DISTINCT FROM")),
]
SQLITE_TOUCH = (
    "INSERT INTO governance_stamp (name, token) VALUES ('figures', lower(hex(randomblob(16)))) "
    "ON CONFLICT (name) DO UPDATE SET token = excluded.token;"
)
SQLITE_TRIGGERS = [
    ("qipp_touch_figures_return_insert", "INSERT ON governance_monthlyreturn", None),
    ("qipp_touch_figures_return_update", "UPDATE ON governance_monthlyreturn", None),
    ("qipp_touch_figures_return_delete", "DELETE ON governance_monthlyreturn", None),
    ("qipp_touch_figures_scheme_insert", "INSERT ON governance_scheme", None),
    ("qipp_touch_figures_scheme_delete", "DELETE ON governance_scheme", None),
    ("qipp_touch_figures_scheme_update", "UPDATE ON governance_scheme", changed("IS NOT")),
]


def add_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)
        for name, table, events, condition in POSTGRES_TRIGGERS:
            when = f"WHEN ({condition}) " if condition else ""
            schema_editor.execute(
                f"CREATE CONSTRAINT TRIGGER {name} AFTER {events} ON {table} "
                f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW {when}"
                "EXECUTE FUNCTION qipp_touch_figures()"
            )
        for table in ("governance_monthlyreturn", "governance_scheme"):
            schema_editor.execute(
                f"CREATE TRIGGER qipp_touch_figures_truncate AFTER TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION qipp_touch_figures()"
            )
    elif vendor == "sqlite":
        for name, event, condition in SQLITE_TRIGGERS:
            when = f"WHEN {condition} " if condition else ""
            schema_editor.execute(
                f"CREATE TRIGGER {name} AFTER {event} {when}BEGIN {SQLITE_TOUCH} END"
            )
    schema_editor.execute(
        "INSERT INTO governance_stamp (name, token) VALUES (%s, %s)", [NAME, "initial"]
    )


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for name, table, _events, _condition in POSTGRES_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for table in ("governance_monthlyreturn", "governance_scheme"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS qipp_touch_figures_truncate ON {table}")
        schema_editor.execute("DROP FUNCTION IF EXISTS qipp_touch_figures()")
    elif vendor == "sqlite":
        for name, _event, _condition in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    schema_editor.execute("DELETE FROM governance_stamp WHERE name = %s", [NAME])


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0008_scheme_org_state"),
    ]

    operations = [
        migrations.RunPython(add_triggers, drop_triggers),
    ]
