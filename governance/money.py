"""Money as the pages, mails and the history show it, in pounds."""

from decimal import Decimal


def pounds(value) -> str:
    """£12,345 for whole pounds, £12,345.67 otherwise; negatives as -£12,345."""
    if value is None or value == "":
        return ""
    value = Decimal(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    text = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    return f"{sign}£{text}"


def pounds_and_pence(value: Decimal | None) -> str:
    """£12,345.00 and -£12,345.67: always the pence, as the history records a figure."""
    if value is None:
        return ""
    return f"-£{-value:,.2f}" if value < 0 else f"£{value:,.2f}"
