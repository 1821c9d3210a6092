"""Money as the pages, mails and the history show it, in pounds."""

import re
from decimal import Decimal, localcontext


def pounds(value) -> str:
    """£12,345 for whole pounds, £12,345.67 otherwise; negatives as -£12,345.

    For an amount as typed into a form (savings positive) and for amounts that are not savings.
    A page that reports savings shows them with saving() and variances with variance()."""
    if value is None or value == "":
        return ""
    value = Decimal(value)
    sign = "-" if value < 0 else ""
    return f"{sign}£{_digits(abs(value))}"


def _digits(value: Decimal) -> str:
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


# The committee papers' sign convention, used on every page that reports money: a saving is a
# negative figure, shown in brackets; a variance is actual minus plan in that sign, so a positive
# variance is under-delivery. SIGN_CONVENTION says it once on each such page.
SIGN_CONVENTION = (
    "Savings are shown as negative figures in brackets, as in the committee papers; "
    "a positive variance is under-delivery."
)


def signed(value) -> str:
    """A figure already in the papers' sign: (£12,345) when negative, £12,345 otherwise."""
    if value is None or value == "":
        return ""
    value = Decimal(value)
    return f"(£{_digits(-value)})" if value < 0 else f"£{_digits(value)}"


def saving(value) -> str:
    """A saving stored as a positive amount, in the papers' sign: 83000 -> (£83,000); a cost
    (a negative saving) shows as a plain £500."""
    if value is None or value == "":
        return ""
    return signed(-Decimal(value))


def variance(plan, actual) -> Decimal | None:
    """Actual minus plan in the papers' sign, from savings stored positive: plan - actual.
    Positive is under-delivery."""
    if plan is None or actual is None:
        return None
    return Decimal(plan) - Decimal(actual)


def signed_percent(part, whole, places: str = "0.1") -> str:
    """part / whole as a percent with part's sign, bracketed when negative: (5.2%), 93.8%."""
    if part is None or not whole:
        return ""
    value = (Decimal(part) / abs(Decimal(whole)) * 100).quantize(Decimal(places))
    return f"({-value}%)" if value < 0 else f"{value}%"


# What people type for an amount: 83000, 83,000, £83,000, 83k, 1.5m, -83,000, (83,000).
# Commas only between groups of three digits, so "8,30" is refused, never read as 830.
_AMOUNT = re.compile(
    r"""^(?P<open>\()?(?P<minus>-)?£?(?P<minus2>-)?
        (?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)
        (?P<suffix>[km])?(?P<close>\))?$""",
    re.IGNORECASE | re.VERBOSE | re.ASCII,
)
_MULTIPLIERS = {"": 1, "k": 1000, "m": 1_000_000}


def parse_pounds(text: str) -> Decimal:
    """The amount in pounds that `text` says, exactly: "83k" is 83,000 and "(1,500)" is
    -1,500. ValueError for anything else (words, "83,00", "1.2.3", "--5"): nothing is
    guessed and nothing is cut off."""
    cleaned = "".join(str(text).split())  # "83 000" and "£ 83,000" as typed
    if len(cleaned) > 40:  # no amount of money is written this long
        raise ValueError(text)
    found = _AMOUNT.match(cleaned)
    if found is None:
        raise ValueError(text)
    bracketed = found["open"] is not None
    if bracketed != (found["close"] is not None):
        raise ValueError(text)
    signs = [bracketed, found["minus"] is not None, found["minus2"] is not None]
    if sum(signs) > 1:
        raise ValueError(text)
    with localcontext() as exact:
        exact.prec = 60  # more figures than 40 characters can hold: nothing is rounded
        amount = Decimal(found["number"].replace(",", ""))
        amount *= _MULTIPLIERS[(found["suffix"] or "").lower()]
        pence = amount.quantize(Decimal("0.01"))
    if pence == amount:  # "1.23456k" is £1,234.56 exactly: drop the zeros the sum left
        amount = pence
    return -amount if any(signs) else amount
