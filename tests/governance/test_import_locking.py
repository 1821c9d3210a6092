"""A plans import and a PID edit of the same scheme at the same moment, on two PostgreSQL
connections: the edit is never silently reverted by values the import read before it."""

import csv
import io
import threading

import pytest
from django.db import connection

from governance import importers, services
from governance.importers import plans
from governance.models import PLAN_FIELDS, Scheme, SchemeChange

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HEADER, _optional = importers.COLUMNS["plans"]


def plans_file(scheme: Scheme, **months) -> io.BytesIO:
    """A plans file for the scheme as it is, but for the months given."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    plan = {name: months.get(name, getattr(scheme, name)) for name in PLAN_FIELDS}
    writer.writerow(
        [
            scheme.reference,
            scheme.title,
            scheme.organisation.code,
            scheme.financial_year.label,
            scheme.programme_area.name,
            scheme.area_of_spend.name,
            scheme.scheme_type,
            "no",
            *plan.values(),
        ]
    )
    return io.BytesIO(out.getvalue().encode())


def test_a_pid_edit_made_while_a_plans_import_runs_is_never_silently_reverted(llr, monkeypatch):
    data = llr.pid_data("ELR")
    lead, pmo = data["project_lead"], llr.user("elr", "pmo")
    scheme = services.scheme_create(by=lead, data=data)
    scheme = Scheme.objects.select_related(
        "organisation", "financial_year", "programme_area", "area_of_spend"
    ).get(pk=scheme.pk)
    file = plans_file(scheme, plan_m02="9000.00")  # the import changes month 2 only
    edit = {}

    def project_lead_saves_month_1():
        try:
            services.scheme_update(
                scheme_id=scheme.pk,
                by=lead,
                data={"plan_m01": scheme.plan_m01 + 1234},
                expected_version=scheme.version,
            )
            edit["outcome"] = "saved"
        except services.Conflict:
            edit["outcome"] = "conflict"
        finally:
            connection.close()

    # The import has read the scheme and not yet written it: the project lead saves then.
    checks = plans.check_states

    def check_states_while_the_lead_saves(*args, **kwargs):
        lead_saves = threading.Thread(target=project_lead_saves_month_1)
        lead_saves.start()
        lead_saves.join(timeout=2)  # still waiting when the import holds the scheme
        edit["thread"] = lead_saves
        return checks(*args, **kwargs)

    monkeypatch.setattr(plans, "check_states", check_states_while_the_lead_saves)

    result = importers.import_file(
        "plans", file, name="plans.csv", by=pmo, organisation_ids={llr.orgs["elr"].pk}
    )
    edit["thread"].join(timeout=10)

    assert not edit["thread"].is_alive()
    scheme.refresh_from_db()
    recorded = [c.field for c in SchemeChange.objects.filter(scheme=scheme).order_by("pk")]
    month_1, month_2 = (Scheme._meta.get_field(f).verbose_name for f in PLAN_FIELDS[:2])
    if result.errors:
        # the import refused the row, naming the scheme; the edit stands
        assert scheme.reference in result.errors[0].message
        assert edit["outcome"] == "saved" and scheme.plan_m01 == data["plan_m01"] + 1234
    elif edit["outcome"] == "saved":
        # both went through: each kept its change, in the history, counted once in the version
        assert scheme.plan_m01 == data["plan_m01"] + 1234 and scheme.plan_m02 == 9000
        assert scheme.version == 3 and sorted(recorded) == sorted([month_1, month_2])
    else:
        # the edit came second: the project lead was told someone else had changed the scheme
        assert edit["outcome"] == "conflict"
        assert scheme.plan_m01 == data["plan_m01"] and scheme.plan_m02 == 9000
        assert scheme.version == 2 and recorded == [month_2]
