"""Two stamps whose tokens triggers change whenever a transaction that changed what they cover
commits, so that each process may keep the answers of costly queries (governance.kept) and run
them again only when the token differs:

- "figures": what the reports and the dashboard add up. A monthly return added, changed or
  removed; a scheme added or removed, or its plan, organisation, year, areas or recovery flag
  changed, or its counting (rejected and withdrawn schemes do not count).
- "schemes": what puts a scheme on a list that does not filter by state, and where. A scheme
  added or removed, put into or out of draft, or its organisation, year, programme area,
  sequence, reference, title, description or team changed.

A transition between two counted, non-draft states changes neither.

On PostgreSQL the triggers are deferred to the commit, and the first of a transaction's changes
is the only one that writes each stamp: its row is then locked only while the transaction
commits, so two transactions never wait on each other through it.
"""

from django.db import migrations

PLAN = [f"plan_m{m:02d}" for m in range(1, 13)]
NOT_COUNTED = "('rejected', 'withdrawn')"  # governance.reports.NOT_COUNTED
# stamp: (the scheme's columns that change it, (a condition on the state, its values))
COVERS = {
    "figures": (
        ["organisation_id", "financial_year_id", "programme_area_id", "area_of_spend_id"]
        + ["is_recovery", *PLAN],
        f"state IN {NOT_COUNTED}",
    ),
    "schemes": (
        ["organisation_id", "financial_year_id", "programme_area_id", "sequence", "reference"]
        + ["title", "description", "project_lead_id", "sro_id", "clinical_lead_id"]
        + ["finance_lead_id"],
        "state = 'draft'",
    ),
}


def changed(name: str, distinct: str) -> str:
    """The condition under which an UPDATE of a scheme changes the stamp `name`."""
    columns, state = COVERS[name]
    return " OR ".join(
        [f"OLD.{c} {distinct} NEW.{c}" for c in columns]
        + [f"(OLD.{state}) {distinct} (NEW.{state})"]
    )


POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION qipp_touch_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- once a transaction: the stamp row this transaction wrote already has a new token
    PERFORM 1 FROM governance_stamp
    WHERE name = TG_ARGV[0] AND xmin = pg_current_xact_id()::xid;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO governance_stamp (name, token) VALUES (TG_ARGV[0], gen_random_uuid()::text)
    ON CONFLICT (name) DO UPDATE SET token = EXCLUDED.token;
    RETURN NULL;
END
$$;
"""


def postgres_triggers():
    """(trigger, table, events, condition, stamp) for every trigger on PostgreSQL."""
    yield (
        "qipp_touch_figures",
        "governance_monthlyreturn",
        "INSERT OR UPDATE OR DELETE",
        None,
        "figures",
    )
    for name in COVERS:
        yield (f"qipp_touch_{name}", "governance_scheme", "INSERT OR DELETE", None, name)
        yield (
            f"qipp_touch_{name}_changed",
            "governance_scheme",
            "UPDATE",
            changed(name, "IS DISTINCT FROM"),
            name,
        )


def sqlite_triggers():
    """(trigger, event and table, condition, stamp) for every trigger on SQLite."""
    for event in ("INSERT", "UPDATE", "DELETE"):
        yield (
            f"qipp_touch_figures_return_{event.lower()}",
            f"{event} ON governance_monthlyreturn",
            None,
            "figures",
        )
    for name in COVERS:
        for event in ("INSERT", "DELETE"):
            yield (
                f"qipp_touch_{name}_scheme_{event.lower()}",
                f"{event} ON governance_scheme",
                None,
                name,
            )
        yield (
            f"qipp_touch_{name}_scheme_update",
            "UPDATE ON governance_scheme",
            changed(name, "IS NOT"),
            name,
        )


# SQLite has no deferred triggers: each of its triggers writes its stamp at once.
SQLITE_TOUCH = {
    "figures": "INSERT INTO governance_stamp (name, token) "
    "VALUES ('figures', lower(hex(randomblob(16)))) "
    "ON CONFLICT (name) DO UPDATE SET token = excluded.token;",
    "schemes": "INSERT INTO governance_stamp (name, token) "
    "VALUES ('schemes', lower(hex(randomblob(16)))) "
    "ON CONFLICT (name) DO UPDATE SET token = excluded.token;",
}


TRUNCATED = {"governance_monthlyreturn": ["figures"], "governance_scheme": list(COVERS)}


def add_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)
        for trigger, table, events, condition, name in postgres_triggers():
            when = f"WHEN ({condition}) " if condition else ""
            schema_editor.execute(
                f"CREATE CONSTRAINT TRIGGER {trigger} AFTER {events} ON {table} "
                f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW {when}"
                f"EXECUTE FUNCTION qipp_touch_stamp('{name}')"
            )
        for table, names in TRUNCATED.items():
            for name in names:
                schema_editor.execute(
                    f"CREATE TRIGGER qipp_touch_{name}_truncate AFTER TRUNCATE ON {table} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION qipp_touch_stamp('{name}')"
                )
    elif vendor == "sqlite":
        for trigger, event, condition, name in sqlite_triggers():
            when = f"WHEN {condition} " if condition else ""
            schema_editor.execute(
                f"CREATE TRIGGER {trigger} AFTER {event} {when}BEGIN {SQLITE_TOUCH[name]} END"
            )
    for name in ("figures", "schemes"):
        schema_editor.execute(
            "INSERT INTO governance_stamp (name, token) VALUES (%s, %s)", [name, "initial"]
        )


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for trigger, table, _events, _condition, _name in postgres_triggers():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        for table, names in TRUNCATED.items():
            for name in names:
                schema_editor.execute(
                    f"DROP TRIGGER IF EXISTS qipp_touch_{name}_truncate ON {table}"
                )
        schema_editor.execute("DROP FUNCTION IF EXISTS qipp_touch_stamp()")
    elif vendor == "sqlite":
        for trigger, _event, _condition, _name in sqlite_triggers():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    schema_editor.execute("DELETE FROM governance_stamp WHERE name IN ('figures', 'schemes')")


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0008_scheme_org_state"),
    ]

    operations = [
        migrations.RunPython(add_triggers, drop_triggers),
    ]
