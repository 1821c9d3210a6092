"""Checking the values of an import file's cells, and the lookups (organisations, years,
people) loaded once per file."""

import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation

from governance.importers.tables import BATCH, NO, PENNY, TEAM, YES, ImportResult, Invalid, RowError
from governance.models import (
    MAX_MONTHLY_AMOUNT,
    AreaOfSpend,
    FinancialYear,
    Organisation,
    ProgrammeArea,
    SchemeState,
    SchemeType,
    System,
    User,
)


class Check:
    """Collects the problems of one row: `check(parse, value, ...)` returns None on a problem."""

    def __init__(self, result: ImportResult, row: int):
        self.result = result
        self.row = row
        self.ok = True
        result.row_checked()

    def fail(self, message: str) -> None:
        self.ok = False
        self.result.errors.append(RowError(self.row, message))

    def __call__(self, parse: Callable, *args, **kwargs):
        try:
            return parse(*args, **kwargs)
        except Invalid as exc:
            self.fail(exc.message)
            return None


def amount(
    text: str, what: str, *, required: bool = True, minimum=None, limit=MAX_MONTHLY_AMOUNT
) -> Decimal | None:
    cleaned = text.replace(",", "").replace("£", "").strip()
    if cleaned.startswith("(") and cleaned.endswith(")"):
        cleaned = "-" + cleaned[1:-1]  # an accountant's negative
    if not cleaned:
        if required:
            raise Invalid(f"{what} is missing")
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise Invalid(f"{what} {text!r} is not an amount in pounds") from None
    if not value.is_finite():
        raise Invalid(f"{what} {text!r} is not an amount in pounds")
    if abs(value) > limit:
        raise Invalid(f"{what} {text} is too large")
    if minimum is not None and value < minimum:
        raise Invalid(f"{what} {text} must not be negative")
    if value != value.quantize(PENNY):
        raise Invalid(f"{what} {text} has more than two decimal places")
    return value.quantize(PENNY)


def yes_no(text: str, what: str) -> bool:
    value = text.strip().lower()
    if value in YES:
        return True
    if value in NO:
        return False
    raise Invalid(f"{what} {text!r} should be yes, no, true, false, 1 or 0")


def scheme_type(text: str) -> str:
    value = text.strip().lower()
    if value not in SchemeType.values:
        raise Invalid(f"scheme_type {text!r} should be transformational or transactional")
    return value


def state(text: str) -> str:
    value = text.strip().lower()
    for state in SchemeState:
        if value in (state.value, state.label.lower()):
            return state.value
    raise Invalid(f"state {text!r} is not a scheme state (e.g. in_delivery, approved, draft)")


def month(text: str) -> int:
    try:
        month = int(text.strip())
    except ValueError:
        raise Invalid(f"month {text!r} is not a number from 1 to 12") from None
    if not 1 <= month <= 12:
        raise Invalid(f"month {month} is outside 1 to 12 (1 is April, 12 is March)")
    return month


def text(text: str, what: str, *, max_length: int, required: bool = False) -> str:
    value = text.strip()
    if required and not value:
        raise Invalid(f"{what} is missing")
    if len(value) > max_length:
        raise Invalid(f"{what} is longer than {max_length} characters")
    return value


def sequence(reference: str) -> int:
    """ELR-1819-014 -> 14: the number a reference ends in."""
    found = re.search(r"(\d+)$", reference)
    if not found or int(found[1]) == 0:
        raise Invalid(f"reference {reference!r} should end in its number, like ELR-1920-014")
    return int(found[1])


def reference_matches(reference: str, organisation: Organisation, year: FinancialYear) -> None:
    parts = re.fullmatch(r"(.+)-(\d{4})-(\d+)", reference)
    if not parts:
        return
    if parts[1].casefold() != organisation.code.casefold():
        raise Invalid(f"reference {reference} does not belong to organisation {organisation.code}")
    if parts[2] != year.code:
        raise Invalid(f"reference {reference} does not belong to financial year {year.label}")


def _name_key(text: str) -> str:
    return " ".join(text.split()).casefold()


class Lookups:
    """Organisations, years and areas, loaded once; unknown ones made when create_missing."""

    def __init__(self, *, create_missing: bool, organisation_ids: set[int] | None):
        self.create_missing = create_missing
        self.organisation_ids = organisation_ids  # None: any organisation
        self.organisations = {o.code.casefold(): o for o in Organisation.objects.all()}
        self.years = {y.start_year: y for y in FinancialYear.objects.all()}
        self.programme_areas = {_name_key(a.name): a for a in ProgrammeArea.objects.all()}
        self.areas_of_spend = {_name_key(a.name): a for a in AreaOfSpend.objects.all()}
        self.codes = {o.pk: o.code for o in self.organisations.values()}
        self._people: dict[str, User] | None = None

    def person(self, text: str, column: str, organisation: Organisation) -> User | None:
        """The user a team column names (username or e-mail), who must be an active member
        of the scheme's organisation holding the column's role; None when blank."""
        name = text.strip()
        if not name:
            return None
        if self._people is None:  # read when the file first names someone
            people = User.objects.filter(is_active=True).prefetch_related("groups", "memberships")
            self._people = {}
            for user in people:
                self._people[user.username.casefold()] = user
                if user.email:
                    self._people.setdefault(user.email.casefold(), user)
        user = self._people.get(name.casefold())
        if user is None:
            raise Invalid(f"{column} {name!r} is not an active user's username or e-mail")
        if organisation.pk not in {m.organisation_id for m in user.memberships.all()}:
            raise Invalid(f"{column} {name} is not a member of {organisation.code}")
        role = TEAM[column]
        if role and role not in {g.name for g in user.groups.all()}:
            raise Invalid(f"{column} {name} does not hold the role {role}")
        return user

    def organisation(self, text: str) -> Organisation:
        code = text.strip()
        if not code:
            raise Invalid("organisation is missing")
        found = self.organisations.get(code.casefold())
        # a restricted import (the upload page) may not create organisations
        if found is None and self.create_missing and self.organisation_ids is None:
            if len(code) > 20:
                raise Invalid(f"organisation code {code!r} is longer than 20 characters")
            found = Organisation.objects.create(code=code, name=code, system=self._new_system())
            self.organisations[code.casefold()] = found
            self.codes[found.pk] = found.code
        if found is None:
            raise Invalid(f"unknown organisation {code!r}")
        self.allowed(found.pk)
        return found

    def allowed(self, organisation_id: int) -> None:
        if self.organisation_ids is not None and organisation_id not in self.organisation_ids:
            raise Invalid(
                f"you can import for your own organisations only, "
                f"not {self.codes.get(organisation_id, organisation_id)}"
            )

    def _new_system(self) -> System:
        """The system every existing organisation shares, else one named Imported."""
        systems = {o.system_id for o in self.organisations.values()}
        if len(systems) == 1:
            return System.objects.get(pk=systems.pop())
        system, _ = System.objects.get_or_create(code="IMPORTED", defaults={"name": "Imported"})
        return system

    def year(self, text: str) -> FinancialYear:
        start = FinancialYear.parse_label(text)
        if start is None:
            raise Invalid(f"financial year {text!r} should look like 2019/20")
        found = self.years.get(start)
        if found is None and self.create_missing:
            if not 2000 <= start <= 2100:
                raise Invalid(f"financial year {text} is outside 2000/01 to 2100/01")
            found = self.years[start] = FinancialYear.objects.create(start_year=start)
        if found is None:
            raise Invalid(f"unknown financial year {text.strip()}")
        return found

    def _named(self, table: dict, model, what: str, text: str):
        name = " ".join(text.split())
        if not name:
            raise Invalid(f"{what} is missing")
        found = table.get(name.casefold())
        if found is None and self.create_missing:
            if len(name) > 100:
                raise Invalid(f"{what} {name!r} is longer than 100 characters")
            found = table[name.casefold()] = model.objects.create(name=name)
        if found is None:
            raise Invalid(f"unknown {what} {name!r}")
        return found

    def programme_area(self, text: str) -> ProgrammeArea:
        return self._named(self.programme_areas, ProgrammeArea, "programme area", text)

    def area_of_spend(self, text: str) -> AreaOfSpend:
        return self._named(self.areas_of_spend, AreaOfSpend, "area of spend", text)


def chunks(items: list, size: int = BATCH) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
