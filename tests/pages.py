"""Reading a page as a user does: its text, its visible words, its tables."""

import html
import html.parser
import re


def text(response) -> str:
    """The page as a user reads it: HTML entities turned back into characters."""
    return html.unescape(response.content.decode())


def visible(response) -> str:
    """The page's text without its markup, each run of spaces as one."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


class _Tables(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current = None
        self.row = None
        self.cell = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.current = self.tables.setdefault(dict(attrs).get("id", ""), [])
        elif tag == "tr" and self.current is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.current.append(self.row)
            self.row = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table(response, table_id: str) -> list[list[str]]:
    """The rows of the table with that id, each a list of its cells' visible text."""
    parser = _Tables()
    parser.feed(response.content.decode())
    return parser.tables.get(table_id, [])
