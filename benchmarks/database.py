"""Django set up for a benchmark script run on its own: a new database it migrates itself, or
the one DATABASE_URL names, which must be migrated already (a benchmark never migrates a
database it did not make)."""

import os
import sys


def setup_django(own_database: bool) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    if own_database:
        call_command("migrate", verbosity=0)
        return
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        sys.exit("The database at DATABASE_URL has unapplied migrations: migrate it first.")
