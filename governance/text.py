"""Text as the pages and mails show it."""

import re

# Control characters (line breaks and tabs among them) and the Unicode line and paragraph
# separators: none belongs in a one-line field.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(text: str) -> str:
    """A one-line field as typed, its control characters and runs of spaces made one space:
    a title with a line break in it would start a new line in a plain-text mail (and could
    pass for a header there, "Bcc: ...")."""
    return " ".join(_CONTROL.sub(" ", text).split())


# A cell that starts with one of these is read as a formula by spreadsheets (OWASP "CSV
# injection"): a name typed in the admin or a file must never become one in a download.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: str) -> str:
    """A text cell of a CSV, with a quote before it when it would start a formula."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value
