from django.db import migrations, models
from django.utils import timezone


def meeting_of_earlier_decisions(apps, schema_editor):
    """A decision recorded before meetings were: the day it was recorded stands for its
    meeting, so a later decision needs a later meeting."""
    Escalation = apps.get_model("notifications", "Escalation")
    for escalation in Escalation.objects.exclude(decided_at=None).only("pk", "decided_at"):
        Escalation.objects.filter(pk=escalation.pk).update(
            decision_meeting=timezone.localdate(escalation.decided_at)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_rules_due"),
    ]

    operations = [
        migrations.AddField(
            model_name="escalation",
            name="decision_meeting",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.RunPython(meeting_of_earlier_decisions, migrations.RunPython.noop),
    ]
