"""Every write to a QIA goes through one of these functions.

Each locks the scheme row and then the version row (always in that order), checks the actor
against the policy (qia.policy), does the work, logs the version's transition (and the
scheme's, through governance.services.run_transition, when a first assessment moves it), and
queues notifications that go once the transaction commits. A refusal raises ActionRefused
with a message for the user and is recorded as an AccessRefusal.

The steps live one stage to a module (self_assessment, panel, sign_off, reassessment), with
what they share in steps, contents and inputs; the names other apps use are listed here.
"""

from qia.services.contents import (
    assessments,
    composition_problem,
    default_overall,
    self_assessment_problems,
    submit_check,
    unmitigated,
    unmitigated_message,
)
from qia.services.panel import panel_agree, panel_close, panel_score_record
from qia.services.qag_approval import qag_approval_record
from qia.services.reassessment import (
    PLAN_LABELS,
    due_reasons,
    due_since,
    material_change_percent,
    reassessment_due,
    reassessment_open,
)
from qia.services.self_assessment import (
    eqia_attach,
    reassessment_send_to_panel,
    self_assessment_differences,
    self_assessment_save,
)
from qia.services.sign_off import own_sign_off, sign_off_record, yours_signed

__all__ = [
    "PLAN_LABELS",
    "assessments",
    "composition_problem",
    "default_overall",
    "due_reasons",
    "due_since",
    "eqia_attach",
    "material_change_percent",
    "panel_agree",
    "panel_close",
    "panel_score_record",
    "qag_approval_record",
    "reassessment_due",
    "reassessment_open",
    "reassessment_send_to_panel",
    "self_assessment_problems",
    "self_assessment_differences",
    "self_assessment_save",
    "own_sign_off",
    "sign_off_record",
    "yours_signed",
    "submit_check",
    "unmitigated",
    "unmitigated_message",
]
