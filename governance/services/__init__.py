"""Every write to a scheme goes through one of these functions.

Each locks the scheme row, checks the actor against governance.policy, does the work, writes
the history and queues notifications for after the commit. A refusal raises ActionRefused
with a message for the user, and is recorded as an AccessRefusal.

transitions: what every write shares (errors, the refusal log, locking, running a transition);
pid: the PID and its documents; workflow: submission, reviews, withdrawal, and who hears.
The names other modules use are listed here.
"""

from governance.services.pid import (
    TRACKED_FIELDS,
    display_value,
    document_add,
    document_remove,
    field_changes,
    make_reference,
    next_sequence,
    recurrent_part_problems,
    scheme_create,
    scheme_update,
    shown_values,
)
from governance.services.transitions import (
    ACTION_VERBS,
    CONFLICT_MESSAGE,
    ActionRefused,
    Conflict,
    just_taken,
    lock_scheme,
    logged,
    record_refusal,
    refusals_recorded,
    refuse_logged,
    run_transition,
    save_scheme,
)
from governance.services.workflow import (
    SUBMIT_CHECKS,
    SUBMIT_STEPS,
    AlreadyDone,
    own_review,
    recorded_review,
    reviews_awaiting_response,
    scheme_review,
    scheme_submit,
    scheme_withdraw,
    team_of,
    users_with_role,
    yours_recorded,
)

__all__ = [
    "ACTION_VERBS",
    "ActionRefused",
    "AlreadyDone",
    "CONFLICT_MESSAGE",
    "Conflict",
    "SUBMIT_CHECKS",
    "SUBMIT_STEPS",
    "TRACKED_FIELDS",
    "display_value",
    "field_changes",
    "document_add",
    "document_remove",
    "lock_scheme",
    "logged",
    "make_reference",
    "next_sequence",
    "recurrent_part_problems",
    "own_review",
    "record_refusal",
    "recorded_review",
    "refusals_recorded",
    "just_taken",
    "refuse_logged",
    "reviews_awaiting_response",
    "run_transition",
    "save_scheme",
    "scheme_create",
    "scheme_review",
    "scheme_submit",
    "scheme_update",
    "shown_values",
    "scheme_withdraw",
    "team_of",
    "users_with_role",
    "yours_recorded",
]
