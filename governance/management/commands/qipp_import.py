"""python manage.py qipp_import targets|plans|returns FILE [--create-missing] [--historical]
[--as USERNAME]

Other tools and finance teams' scripts call this: keep the interface as it is.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from governance import importers
from governance.models import User


class Command(BaseCommand):
    help = (
        "Import QIPP targets, scheme plans or monthly returns from a .csv or .xlsx file "
        "(first row headers, amounts in pounds). The whole file is imported or nothing is. "
        "New schemes are drafts with the team the file names."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=importers.KINDS)
        parser.add_argument("file", help="a .csv or .xlsx file")
        parser.add_argument(
            "--create-missing",
            action="store_true",
            help="create unknown organisations, financial years, programme areas and areas "
            "of spend instead of refusing them",
        )
        parser.add_argument(
            "--historical",
            action="store_true",
            help="plans of a financial year that has closed (after the return deadline of "
            "the April that follows it): load its schemes as they stood (in delivery unless "
            "a state column says otherwise), skipping the workflow; marked as imported on "
            "each scheme, and never escalated or put before QAG. Staff only.",
        )
        parser.add_argument(
            "--as",
            dest="username",
            help="the user the import is recorded as (default: the first superuser)",
        )

    def handle(self, *args, kind, file, create_missing, historical, username, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"There is no file {file}.")
        if username:
            by = User.objects.filter(username=username, is_active=True).first()
            if by is None:
                raise CommandError(f"There is no active user {username}.")
        else:
            by = importers.import_user()
        with path.open("rb") as handle:
            result = importers.import_file(
                kind,
                handle,
                name=path.name,
                by=by,
                create_missing=create_missing,
                historical=historical,
            )
        if not result.ok:
            for error in result.errors:
                self.stderr.write(str(error))
            count = len(result.errors)
            hint = ""
            if not create_missing and any("unknown" in str(error) for error in result.errors):
                hint = (
                    " Add --create-missing to create the organisations, financial years, "
                    "programme areas and areas of spend the file names that are not yet known."
                )
            raise CommandError(
                f"{count} error{'s' if count != 1 else ''} in {path.name}: nothing was "
                f"imported.{hint}"
            )
        self.stdout.write(self.style.SUCCESS(result.summary()))
