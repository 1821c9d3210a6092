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


def state_words(state: str) -> str:
    """A state as it reads inside a sentence: "in delivery", but "QIA panel"."""
    label = SchemeState(state).label
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


# States from which the project lead or SRO may still withdraw ("before approval").
WITHDRAWABLE = [
    SchemeState.DRAFT,
    SchemeState.CONFIRM_AND_CHALLENGE,
    SchemeState.QIA_PANEL,
    SchemeState.AWAITING_SIGN_OFF,
    SchemeState.AWAITING_QAG,
]
