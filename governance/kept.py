"""Answers of queries kept in each process until what they read changes: stamps.

Some pages run the same costly query far more often than its tables change: the committee
tables, their chart and the delivery dashboard sum every counted scheme's plan and returns
(governance.reports), and the scheme list sorts and counts every scheme a user may see. A
stamp is a token in the database that triggers (migration 0009) change whenever a transaction
that changed what those queries read commits:

- FIGURES: a monthly return added, changed or removed; a scheme added or removed, or its plan,
  organisation, year, areas or recovery flag changed, or it became (or stopped being)
  rejected or withdrawn. A transition between counted states changes none of the figures.
- SCHEMES: a scheme added or removed, put into or out of draft, or its organisation, year,
  programme area, sequence, reference, title, description or team changed: what decides
  whether it is on a list that does not filter by state, and where.

On PostgreSQL the triggers run as the transaction commits, so that a stamp never holds a lock
while the transaction waits for another. An answer is kept under the token it was read with
and used only while the token is the same: a page never shows what is older than the
database; the first page after a change runs its query again.

Inside a transaction (a service, an import, a test) nothing is kept or used: the transaction
may have changed what it has not committed yet, under a token that does not say so.

Keep only plain data (numbers, strings, dicts, tuples): a kept answer is shared by every request
of the process. Read it, never change it.
"""

import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.db import connection

from governance.reference import stamp

FIGURES = "figures"
SCHEMES = "schemes"
# Past this many answers under one token the oldest half go: a process serving many systems,
# years, months and filters keeps those asked for most recently.
MOST_KEPT = 2000
# The same for answers kept one per row (kept_each), such as one scheme's returns: a page of a
# list asks for 25 at a time, and a system may have thousands.
MOST_KEPT_EACH = 10_000

T = TypeVar("T")
K = TypeVar("K")


class _Kept:
    def __init__(self):
        self.token: str | None = None
        self.answers: dict[tuple, object] = {}
        self.each: dict[tuple, object] = {}

    def renew(self, token: str) -> None:
        """Forget every answer read under an older token."""
        if token != self.token:
            self.answers.clear()
            self.each.clear()
            self.token = token


_lock = threading.Lock()
_held = {FIGURES: _Kept(), SCHEMES: _Kept()}


def kept(name: str, key: tuple, work: Callable[[], T]) -> T:
    """work()'s answer: kept under `key` while the stamp `name` keeps its token."""
    if connection.in_atomic_block:
        return work()
    token = stamp(name)
    if token is None:  # no stamp (a database emptied by the tests): nothing can be kept
        return work()
    held = _held[name]
    with _lock:
        held.renew(token)
        if key in held.answers:
            return held.answers[key]
    value = work()
    with _lock:
        if token == held.token:
            _make_room(held.answers, MOST_KEPT, 1)
            held.answers[key] = value
    return value


def kept_each(name: str, keys: Iterable[K], work: Callable[[list[K]], dict[K, T]]) -> dict[K, T]:
    """{key: answer} for each of `keys`: those kept under the stamp `name`'s token, and the
    rest from one call of work(the keys not kept), which answers for every key it is given.

    For answers one per row (one scheme's returns): a page asks for its rows, and reads from
    the database only the rows no page of this process has asked for since the stamp moved."""
    keys = list(dict.fromkeys(keys))
    token = None if connection.in_atomic_block else stamp(name)
    if token is None:
        return work(keys)
    held = _held[name]
    with _lock:
        held.renew(token)
        found = {key: held.each[key] for key in keys if key in held.each}
    missing = [key for key in keys if key not in found]
    if missing:
        read = work(missing)
        found.update(read)
        with _lock:
            if token == held.token:
                _make_room(held.each, MOST_KEPT_EACH, len(read))
                held.each.update(read)
    return found


def _make_room(answers: dict, most: int, coming: int) -> None:
    """Past `most` answers, the oldest half go (a dict keeps the order they came in)."""
    if len(answers) + coming > most:
        for old in list(answers)[: max(most // 2, coming)]:
            del answers[old]
