"""Text as the pages and mails show it."""

import difflib
import re
from dataclasses import dataclass

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


# Every CSV a person downloads starts with a byte order mark: without one, Excel reads the
# file as Windows-1252 and a £ or an accented name as "Â£" or "Ã©". Python reads it back
# with encoding="utf-8-sig".
BYTE_ORDER_MARK = "\ufeff"


def spreadsheet_text(value: str) -> str:
    """A text cell of a CSV, with a quote before it when it would start a formula."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def keep_as_text(sheet) -> None:
    """Every text cell of an openpyxl sheet stored as text: openpyxl stores a string starting
    with "=" as a formula, and a name typed in the admin must never become one."""
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"


# The words and the runs of spaces between them: joined again, the pieces are the text
# exactly, line breaks included.
_WORDS = re.compile(r"\s+|\S+")


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """How `new` differs from `old`, word by word: (op, text) pairs in reading order, op
    "equal", "delete" (only in old) or "insert" (only in new). The equal and deleted pieces
    make `old`, the equal and inserted ones `new`."""
    before, after = _WORDS.findall(old), _WORDS.findall(new)
    opcodes = difflib.SequenceMatcher(None, before, after).get_opcodes()
    pairs: list[tuple[str, str]] = []
    removed: list[str] = []
    added: list[str] = []

    def changed():
        if removed:
            pairs.append(("delete", "".join(removed)))
        if added:
            pairs.append(("insert", "".join(added)))
        removed.clear()
        added.clear()

    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        same = "".join(before[i1:i2])
        # a space between two changes belongs to them: "<del>a b</del><ins>x y</ins>", not
        # "<del>a</del><ins>x</ins> <del>b</del><ins>y</ins>"
        between = 0 < index < len(opcodes) - 1 and not same.strip()
        if op == "equal" and not between:
            changed()
            pairs.append(("equal", same))
        else:
            removed.extend(before[i1:i2])
            added.extend(after[j1:j2])
    changed()
    return pairs


@dataclass(frozen=True)
class Typed:
    """One field of a form that could not be saved, as the user typed it: shown back read-only
    to copy (templates/includes/typed_text.html)."""

    label: str
    text: str

    @property
    def rows(self) -> int:
        return min(12, max(2, self.text.count("\n") + 1, len(self.text) // 80 + 1))
