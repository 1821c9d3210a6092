from django.core.management.base import BaseCommand

from notifications.sweep import sweep


class Command(BaseCommand):
    help = (
        "Evaluate the escalation rules over every scheme once, as the daily beat task does, "
        "and print what was raised, updated, resolved, raised to QAG (or due there again) and "
        "reminded."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Work it all out and print it, then keep nothing and mail nobody.",
        )

    def handle(self, *args, dry_run: bool = False, **options):
        result = sweep(dry_run=dry_run)
        if dry_run:
            self.stdout.write("Dry run: nothing was kept and no mail was queued.")
        for label, escalations in (
            ("raised", result.raised),
            ("resolved", result.resolved),
            ("raised to QAG", result.to_qag),
            ("due for a QAG decision again", result.due_again),
        ):
            for escalation in escalations:
                self.stdout.write(
                    f"{label}: {escalation.scheme.reference} "
                    f"{escalation.rule_phrase}: {escalation.reason}"
                )
        for reminder in result.reminders:
            names = ", ".join(str(user) for user in reminder.users)
            self.stdout.write(
                f"reminded: {reminder.scheme.reference} {reminder.step}, waiting "
                f"{reminder.waiting_days} days: {names}"
            )
        counts = result.counts()
        self.stdout.write(
            self.style.SUCCESS(
                f"raised {counts['raised']}, updated {counts['updated']}, "
                f"resolved {counts['resolved']}, raised to QAG {counts['to_qag']}, "
                f"due for a QAG decision again {counts['due_again']}, "
                f"reminded {counts['reminded']}"
            )
        )
