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
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

from governance.reference import stamp

FIGURES = "figures"
SCHEMES = "schemes"
# Past this many answers under one token the oldest half go: a process serving many systems,
# years, months and filters keeps those asked for most recently.
MOST_KEPT = 2000

T = TypeVar("T")


class _Kept:
    def __init__(self):
        self.token: str | None = None
        self.answers: dict[tuple, object] = {}


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
        if token != held.token:
            held.answers.clear()
            held.token = token
        elif key in held.answers:
            return held.answers[key]
    value = work()
    with _lock:
        if token == held.token:
            if len(held.answers) >= MOST_KEPT:
                for old in list(held.answers)[: MOST_KEPT // 2]:
                    del held.answers[old]
            held.answers[key] = value
    return value
