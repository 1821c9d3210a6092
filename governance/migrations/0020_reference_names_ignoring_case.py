import django.db.models.functions.text
from django.db import migrations, models


# Names that differ only in capitals would stop the constraints being added with a bare
# database error: name them instead, so that an administrator can merge or rename them first.
def refuse_names_differing_in_case(apps, schema_editor):
    clashes = []
    for model_name in ("ProgrammeArea", "AreaOfSpend"):
        model = apps.get_model("governance", model_name)
        seen = {}
        for name in model.objects.order_by("pk").values_list("name", flat=True):
            seen.setdefault(name.lower(), []).append(name)
        clashes += [" / ".join(names) for names in seen.values() if len(names) > 1]
    if clashes:
        raise RuntimeError(
            "Names differing only in capitals: "
            + "; ".join(clashes)
            + ". Rename one of each pair in the admin, then migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0019_audit_export"),
    ]

    operations = [
        migrations.RunPython(refuse_names_differing_in_case, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="areaofspend",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("name"),
                name="area_of_spend_name_ignoring_case",
                violation_error_message="An area of spend with this name already exists "
                "(names are compared ignoring capitals).",
            ),
        ),
        migrations.AddConstraint(
            model_name="programmearea",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("name"),
                name="programme_area_name_ignoring_case",
                violation_error_message="A programme area with this name already exists "
                "(names are compared ignoring capitals).",
            ),
        ),
    ]
