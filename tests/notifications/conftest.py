"""What the notification and escalation tests share, beside the test world (tests/world.py):
`at(...)`, a moment in UTC, and `commit`, which runs what a committed transaction runs next.
"""

from datetime import UTC, datetime

import pytest


def at(*args) -> datetime:
    """A moment in UTC (London is on GMT in winter, BST in summer: tests say which)."""
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what a committed transaction would run next (enqueue -> the eager task)."""

    def run(work=None):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            result = work() if work else None
        return result if work else callbacks

    return run
