"""What the escalations read from the QIA app, and where it plugs in.

Two questions only the QIA app can answer, which it answers in `qia.escalation_feed`:

- `review_due(scheme_ids, today) -> {scheme id: reason}`: which of these schemes have a
  signed-off QIA past its review date and not being re-assessed (the "QIA past its review
  date" rule, set as notifications.rules.QIA_REVIEW_DUE);
- `extreme_signed_off(system_id, since) -> [qag.ExtremeQia]`: the QIAs of a system signed off
  with an extreme agreed score since `since` (None: ever), for the QAG pack (set as
  notifications.qag.EXTREME_QIAS).

Without that module the rule does not run (its escalations are left as they are, not
resolved) and the pack lists no extreme QIAs. The QIA app's services send their own mails
through notifications.emails in their transactions (sign-off tasks, approval, the
extreme-risk mail to the QAG list).
"""

import importlib


def connect() -> None:
    try:
        feed = importlib.import_module("qia.escalation_feed")
    except ModuleNotFoundError as exc:
        if exc.name not in ("qia", "qia.escalation_feed"):
            raise  # the feed is there but broken: say so
        return
    from notifications import qag, rules

    rules.QIA_REVIEW_DUE = getattr(feed, "review_due", None)
    qag.EXTREME_QIAS = getattr(feed, "extreme_signed_off", None)
