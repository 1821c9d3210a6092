"""What the escalations read from the QIA app, and where it plugs in.

Questions only the QIA app can answer, which it answers in `qia.escalation_feed`:

- `review_due(scheme_ids, today) -> {scheme id: reason}`: which of these schemes have a
  signed-off QIA past its review date and not being re-assessed (the "QIA past its review
  date" rule, set as notifications.rules.QIA_REVIEW_DUE);
- `flagged_to_qag(system_id, since) -> [qag.QiaFlag]`: every QIA matter of a system flagged
  to QAG since `since` (None: ever): extreme risks signed off, re-assessments dismissed or
  declined; for the QAG pack (set as notifications.qag.QIA_FLAGS);
- `step_done(scheme_ids) -> {scheme id: rules.StepDone}`: for schemes at the QIA panel or
  awaiting sign-off, the roles and people with no part left in the step (scored, signed, or
  on the panel and so barred from signing): they are not reminded of the step (set as
  notifications.rules.QIA_STEP_DONE).

Without that module the rule does not run (its escalations are left as they are, not
resolved), the pack lists no QIA flags and every role holder is reminded of the QIA steps.
The QIA app's services send their own mails through notifications.emails in their
transactions (sign-off tasks, approval, the extreme-risk mail to the QAG list).
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
    rules.QIA_STEP_DONE = getattr(feed, "step_done", None)
    qag.QIA_FLAGS = getattr(feed, "flagged_to_qag", None)
