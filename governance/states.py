"""The states of a scheme (DESIGN.md: the scheme and its workflow), and how they read."""

from django.db import models


class SchemeState(models.TextChoices):
    DRAFT = "draft", "Draft"
    CONFIRM_AND_CHALLENGE = "confirm_and_challenge", "Confirm and challenge"
    QIA_PANEL = "qia_panel", "QIA panel"
    AWAITING_SIGN_OFF = "awaiting_sign_off", "Awaiting sign-off"
    # on the route "then QAG approves" (qia.routes): signed off, waiting for QAG's approval
    AWAITING_QAG = "awaiting_qag", "Awaiting QAG approval"
    APPROVED = "approved", "Approved"
    IN_DELIVERY = "in_delivery", "In delivery"
    COMPLETED = "completed", "Completed"
    STOPPED = "stopped", "Stopped"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


# How each state reads after "is" in a sentence ("ELR-2627-010 is now at the QIA panel", "it is
# now a draft"): the labels are headings, not words that fit a sentence.
STATE_WORDS = {
    SchemeState.DRAFT: "a draft",
    SchemeState.CONFIRM_AND_CHALLENGE: "in confirm and challenge",
    SchemeState.QIA_PANEL: "at the QIA panel",
    SchemeState.AWAITING_SIGN_OFF: "awaiting sign-off",
    SchemeState.AWAITING_QAG: "awaiting QAG approval",
    SchemeState.APPROVED: "approved",
    SchemeState.IN_DELIVERY: "in delivery",
    SchemeState.COMPLETED: "completed",
    SchemeState.STOPPED: "stopped",
    SchemeState.REJECTED: "rejected",
    SchemeState.WITHDRAWN: "withdrawn",
}


def state_words(state: str) -> str:
    """A state as it reads after "is" or "stays" in a sentence: "a draft", "in confirm and
    challenge", "at the QIA panel", "approved"."""
    return STATE_WORDS[SchemeState(state)]


# States from which the project lead or SRO may still withdraw ("before approval").
WITHDRAWABLE = [
    SchemeState.DRAFT,
    SchemeState.CONFIRM_AND_CHALLENGE,
    SchemeState.QIA_PANEL,
    SchemeState.AWAITING_SIGN_OFF,
    SchemeState.AWAITING_QAG,
]
