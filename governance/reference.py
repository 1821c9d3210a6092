"""The reference data, held in each process: systems and organisations, financial years,
programme areas and areas of spend.

Nearly every page shows some of it (the scheme list's filters, every scheme's organisation,
year and areas), and it changes a few times a year. Each process keeps one copy, with the
token of the reference stamp it was read under; database triggers change that token in the
same transaction as any change to those tables (migration 0006), so a copy is used only while
the database still holds the data it was read from. The token is read once a request (with the
other stamps: governance.kept).

The objects are shared by every request of the process: read them, never change them.
"""

import threading
from dataclasses import dataclass

from django.core.signals import request_finished, request_started
from django.db import connection
from django.db.models import F, Func, IntegerField

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

    def scheme_order(self) -> list:
        """Scheme's ordering (newest year first, then organisation code, then sequence) in
        terms of the scheme's own columns, ranked from here: no join to sort a list. A year or
        organisation this copy does not hold sorts last."""
        years = sorted(self.years.values(), key=lambda y: -y.start_year)
        organisations = sorted(self.organisations.values(), key=lambda o: o.code)
        return [
            _Rank("financial_year_id", [y.pk for y in years]),
            _Rank("organisation_id", [o.pk for o in organisations]),
            "sequence",
        ]

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


class _Rank(Func):
    """CASE column WHEN id THEN 0 WHEN id THEN 1 ... ELSE n END: a column's rank in a fixed
    order of ids. Written out here because Django takes five times as long to compile the
    same CASE built of When() objects, on every list page."""

    output_field = IntegerField()

    def __init__(self, field: str, ordered: list[int]):
        super().__init__(F(field))
        self.ordered = ordered

    def as_sql(self, compiler, connection, **extra):
        if not self.ordered:
            return "%s", (0,)
        column, params = compiler.compile(self.source_expressions[0])
        whens = " ".join(["WHEN %s THEN %s"] * len(self.ordered))
        ranks = [value for rank, pk in enumerate(self.ordered) for value in (pk, rank)]
        return f"CASE {column} {whens} ELSE %s END", (*params, *ranks, len(self.ordered))


_held: Reference | None = None
# Within a request the token is read once; outside one (commands, tasks) on every call.
_request = threading.local()


def stamp(name: str) -> str | None:
    """The token of a stamp (STAMP, or one of governance.kept) as the database holds it.

    Within a request every stamp is read once: with the session (governance.backends), or in
    one query the first time one is asked for."""
    if getattr(_request, "active", False) and name in getattr(_request, "tokens", ()):
        return _request.tokens[name]
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, token FROM governance_stamp")
        tokens = dict(cursor.fetchall())
    if getattr(_request, "active", False):
        _request.tokens = tokens
    return tokens.get(name)


def read_with_session(tokens: dict[str, str | None]) -> None:
    """The stamps' tokens as the session's query read them, for the rest of the request."""
    if getattr(_request, "active", False):
        _request.tokens = tokens


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
    token = stamp(STAMP)
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
    _request.__dict__.pop("tokens", None)


def _request_finished(**kwargs):
    _request.active = False
    _request.__dict__.pop("tokens", None)


request_started.connect(_request_started, dispatch_uid="qipp_reference_request_started")
request_finished.connect(_request_finished, dispatch_uid="qipp_reference_request_finished")
