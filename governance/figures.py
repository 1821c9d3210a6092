"""What the committee tables, their chart and the delivery dashboard add up, kept in each process
until the figures change.

Those pages sum every counted scheme's plan and returns in the database (governance.reports),
and their figures change far less often than they are read: a transition changes a scheme's
state, not its figures. So each process keeps the answers of those queries under the token of
the figures stamp. Database triggers (migration 0009) give the stamp a new token whenever a
transaction that added, removed or changed a monthly return, or changed what a scheme counts
(its plan, organisation, year, areas, recovery flag, or whether it is rejected or withdrawn),
commits: on PostgreSQL as it commits, so that the stamp never holds a lock while the
transaction waits for another. A kept answer is used only while the token is the same, so a
page never shows figures older than the database's; the first page after a change runs the
queries again.

Inside a transaction (a service, an import, a test) nothing is kept or used: the transaction
may have changed figures it has not committed, under a token that does not say so yet.

Keep only plain data here (numbers, dicts, tuples): a kept answer is shared by every request of
the process. Read it, never change it.
"""

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

from governance.models import SchemeState
from governance.reference import stamp

STAMP = "figures"
# A scheme still in development is identified QIPP; a stopped one keeps its plan and actuals.
NOT_COUNTED = (SchemeState.REJECTED, SchemeState.WITHDRAWN)
# Past this many answers under one token the oldest half go: a process serving many systems,
# years and months keeps the ones asked for most recently.
MOST_KEPT = 2000

T = TypeVar("T")

_lock = threading.Lock()
_token: str | None = None
_kept: dict[tuple, object] = {}


def kept(key: tuple, work: Callable[[], T]) -> T:
    """work()'s answer: kept under `key` while the figures stamp keeps its token."""
    global _token
    if connection.in_atomic_block:
        return work()
    token = stamp(STAMP)
    if token is None:  # no stamp (a database emptied by the tests): nothing can be kept
        return work()
    with _lock:
        if token != _token:
            _kept.clear()
            _token = token
        elif key in _kept:
            return _kept[key]
    value = work()
    with _lock:
        if token == _token:
            if len(_kept) >= MOST_KEPT:
                for old in list(_kept)[: MOST_KEPT // 2]:
                    del _kept[old]
            _kept[key] = value
    return value
