"""An ordinary migration runs on both databases and the pages show what it leaves: the only
triggers are the history tables' append-only guards (PostgreSQL), which a migration keeps."""

import html

import pytest
from django.db import DatabaseError, connection, migrations, models, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from governance.models import Scheme, SchemeChange
from tests.governance.report_fixtures import add_return, add_scheme, report_world

# Outside a test transaction: a migration commits its changes as `migrate` does.
pytestmark = pytest.mark.django_db(transaction=True)

APPEND_ONLY = {
    "django_fsm_log_statelog",
    "governance_schemechange",
    "notifications_escalationevent",
    "governance_accessrefusal",
    "identity_identityevent",
    "governance_auditexport",
}


def triggers() -> set[tuple[str, str]]:
    """(table, trigger) for every trigger in the database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, t.tgname FROM pg_trigger t"
                " JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"
            )
        else:
            cursor.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
        return set(cursor.fetchall())


def expected_triggers() -> set[tuple[str, str]]:
    if connection.vendor == "postgresql":
        return {(table, "qipp_append_only") for table in APPEND_ONLY}
    return set()  # SQLite: no append-only guard (docs/security.md)


def migrate_with(*operations):
    """Make and apply a migration of the governance app holding `operations`, as `migrate`
    would; return a function that takes it back out."""
    executor = MigrationExecutor(connection)
    leaf = executor.loader.graph.leaf_nodes("governance")[0]
    migration = type(
        "Migration",
        (migrations.Migration,),
        {"dependencies": [leaf], "operations": list(operations)},
    )("9999_test_alter", "governance")
    state = executor.loader.project_state(leaf)
    executor.apply_migration(state, migration)

    def undo():
        executor.loader.build_graph()
        after = state.clone()
        for operation in migration.operations:
            operation.state_forwards("governance", after)
        executor.unapply_migration(after, migration)

    return undo


def seen_by(client, user, url, **params) -> str:
    client.force_login(user)
    response = client.get(url, params)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_the_database_holds_no_triggers_but_the_append_only_guards(transactional_db):
    assert triggers() == expected_triggers()


def test_widening_the_scheme_title_migrates_and_the_pages_show_fresh_data(client):
    world = report_world()
    scheme = add_scheme(world, "ELR", monthly="1000")
    viewer = world.users["elr-viewer"]
    assert scheme.reference in seen_by(client, viewer, reverse("scheme_list"))

    undo = migrate_with(migrations.AlterField("scheme", "title", models.CharField(max_length=250)))
    later = None
    try:
        assert triggers() == expected_triggers()
        long_title = "A scheme whose title is longer than two hundred characters " * 4
        later = add_scheme(world, "ELR", monthly="2000")
        Scheme.objects.filter(pk=later.pk).update(title=long_title[:250])
        add_return(later, 1, actual="1500")

        listed = seen_by(client, viewer, reverse("scheme_list"))
        assert later.reference in listed and long_title[:250] in listed
        summary = seen_by(
            client,
            viewer,
            reverse("report_table", args=["summary"]),
            year="2019/20",
            month="1",
        )
        # annual plans 12,000 + 24,000 = (36) in £'000; actuals of month 1: (2) from 1,500
        assert '<th scope="row">ELR</th>' in summary and "(36)" in summary
        dashboard = seen_by(client, viewer, reverse("dashboard"), year="2019", month="1")
        assert later.reference in seen_by(client, viewer, later.get_absolute_url())
        assert "£36,000" in dashboard
    finally:
        if later is not None:  # back within the old width before the column narrows again
            Scheme.objects.filter(pk=later.pk).update(title="Short again")
        undo()
    assert triggers() == expected_triggers()


def test_widening_an_audited_column_migrates_and_keeps_its_append_only_guard(transactional_db):
    world = report_world()
    scheme = add_scheme(world, "ELR")
    change = SchemeChange.objects.create(
        scheme=scheme,
        changed_by=world.users["elr-project-lead"],
        field="title",
        old_value="a",
        new_value="b",
    )

    undo = migrate_with(
        migrations.AlterField("schemechange", "field", models.CharField(max_length=150))
    )
    try:
        assert triggers() == expected_triggers()
        assert SchemeChange.objects.get(pk=change.pk).field == "title"
        if connection.vendor == "postgresql":
            with pytest.raises(DatabaseError, match="append-only"):
                with transaction.atomic():
                    SchemeChange.objects.filter(pk=change.pk).update(field="changed")
    finally:
        undo()
    assert triggers() == expected_triggers()
