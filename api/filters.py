"""The filters every list takes: ?year=2019/20, ?organisation=ELR, ?state=in_delivery. A
value that is not one of these is refused with a 400 that says why, rather than quietly
ignored: a report filtered on a typo would otherwise show every row."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError

from governance.models import FinancialYear, SchemeState

PARAMETERS = [
    OpenApiParameter("year", str, description="A financial year, written like 2019/20."),
    OpenApiParameter("organisation", str, description="An organisation's code, e.g. ELR."),
    OpenApiParameter(
        "state",
        str,
        enum=SchemeState.values,
        description="The scheme's state; several separated by commas.",
    ),
]


def by_scheme(queryset: QuerySet, params, readable: list[str], to_scheme: str = "") -> QuerySet:
    """`queryset` filtered by its scheme's year, organisation and state as asked; `readable`:
    the codes of the organisations the token reads, the only ones it may ask for; `to_scheme`
    reaches the scheme from the listed model ("scheme__", "qia__scheme__")."""
    year = (params.get("year") or "").strip()
    if year:
        start = FinancialYear.parse_label(year)
        if start is None:
            raise ValidationError(
                {"year": f"{year!r} is not a financial year: write it like 2019/20."}
            )
        queryset = queryset.filter(**{f"{to_scheme}financial_year__start_year": start})
    organisation = organisation_asked(params, readable)
    if organisation:
        queryset = queryset.filter(**{f"{to_scheme}organisation__code__iexact": organisation})
    states = [s.strip() for s in (params.get("state") or "").split(",") if s.strip()]
    unknown = sorted(set(states) - set(SchemeState.values))
    if unknown:
        choices = ", ".join(SchemeState.values)
        raise ValidationError(
            {"state": f"Unknown state {', '.join(unknown)}: choose from {choices}."}
        )
    if states:
        queryset = queryset.filter(**{f"{to_scheme}state__in": states})
    return queryset


def organisation_asked(params, readable: list[str]) -> str:
    """The organisation code asked for (?organisation=ELR), or "" for none: one the token does
    not read, or no organisation at all, is refused with a 400 naming those it reads, as a typo
    would otherwise give an empty list, or a table of noughts, in silence."""
    organisation = (params.get("organisation") or "").strip()
    if organisation and organisation.casefold() not in {code.casefold() for code in readable}:
        choices = ", ".join(sorted(readable)) or "none"
        raise ValidationError(
            {
                "organisation": f"{organisation[:40]!r} is not an organisation this token reads: "
                f"choose from {choices}."
            }
        )
    return organisation
