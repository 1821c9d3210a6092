"""The reference data, held in each process: systems and organisations, financial years,
programme areas and areas of spend.

Nearly every page shows some of it (the scheme list's filters, every scheme's organisation,
year and areas), and it changes a few times a year. Each process keeps one copy, with the
token of the reference stamp it was read under; database triggers change that token in the
same transaction as any change to those tables (migration 0006), so a copy is used only while
the database still holds the data it was read from. The token is read once a request.

The objects are shared by every request of the process: read them, never change them.
"""

import threading
from dataclasses import dataclass

from django.core.signals import request_finished, request_started
from django.db import connection

from governance.models import AreaOfSpend, FinancialYear, Organisation, ProgrammeArea, Scheme

STAMP = "reference"


@dataclass(frozen=True)
class Reference:
    token: str | None
    organisations: dict[int, Organisation]  # each with its system
    years: dict[int, FinancialYear]
    programme_areas: dict[int, ProgrammeArea]
    areas_of_spend: dict[int, AreaOfSpend]

    def organisations_in(self, system_ids) -> list[Organisation]:
        """The organisations of these systems, by code."""
        return [o for o in self.organisations.values() if o.system_id in system_ids]

    def attach(self, schemes) -> None:
        """Give each scheme its organisation (with its system), year and areas from here,
        instead of joining them in its query. One this copy does not hold (made since it was
        read) is left for Django to load."""
        for scheme in schemes:
            for field, held in (
                ("organisation", self.organisations),
                ("financial_year", self.years),
                ("programme_area", self.programme_areas),
                ("area_of_spend", self.areas_of_spend),
            ):
                found = held.get(getattr(scheme, f"{field}_id"))
                if found is not None:
                    setattr(scheme, field, found)


_held: Reference | None = None
# Within a request the token is read once; outside one (commands, tasks) on every call.
_request = threading.local()


def _token() -> str | None:
    if getattr(_request, "active", False) and hasattr(_request, "token"):
        return _request.token
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM governance_stamp WHERE name = %s", [STAMP])
        row = cursor.fetchone()
    token = row[0] if row else None
    if getattr(_request, "active", False):
        _request.token = token
    return token


def _load(token: str | None) -> Reference:
    return Reference(
        token=token,
        organisations=Organisation.objects.select_related("system").in_bulk(),
        years={y.pk: y for y in FinancialYear.objects.all()},
        programme_areas={a.pk: a for a in ProgrammeArea.objects.all()},
        areas_of_spend={a.pk: a for a in AreaOfSpend.objects.all()},
    )


def reference() -> Reference:
    """The reference data as the database holds it now."""
    global _held
    token = _token()
    if _held is None or token is None or _held.token != token:
        # without a stamp (a database emptied by the tests) nothing can be kept
        _held = _load(token)
    return _held


def schemes_with_reference(schemes) -> list[Scheme]:
    """The schemes as a list, each given its reference objects (Reference.attach)."""
    schemes = list(schemes)
    reference().attach(schemes)
    return schemes


def _request_started(**kwargs):
    _request.active = True
    _request.__dict__.pop("token", None)


def _request_finished(**kwargs):
    _request.active = False
    _request.__dict__.pop("token", None)


request_started.connect(_request_started, dispatch_uid="qipp_reference_request_started")
request_finished.connect(_request_finished, dispatch_uid="qipp_reference_request_finished")
