"""The governance app's models, one module per kind of thing: reference data, people, schemes,
monthly returns, import runs and the pipeline (opportunities, stage weights). Every model is
importable from here (`from governance.models import Scheme`), as Django and the migrations
expect."""

from governance.models.audit import AuditExport
from governance.models.deputies import (
    Delegation,
    DelegationEvent,
    DeputyAct,
)
from governance.models.imports import ImportRun, ImportStatus, import_path
from governance.models.people import (
    AccessRefusal,
    Membership,
    Organisation,
    Profession,
    System,
    User,
    UserSession,
)
from governance.models.pipeline import (
    DEFAULT_WEIGHTS,
    STAGE_OF_STATE,
    Opportunity,
    OpportunityEvent,
    OpportunityStatus,
    PipelineStage,
    StageWeight,
)
from governance.models.reference import (
    MAX_MONTHLY_AMOUNT,
    MONTH_NAMES,
    MONTHS,
    PLAN_FIELDS,
    AreaOfSpend,
    FinancialYear,
    ProgrammeArea,
    QippTarget,
)
from governance.models.returns import MonthlyReturn
from governance.models.schemes import (
    RECURRENT_FIELDS,
    DocumentKind,
    Recurrence,
    Review,
    ReviewDecision,
    ReviewKind,
    Scheme,
    SchemeChange,
    SchemeDocument,
    SchemeType,
    document_path,
)

# the scheme states, kept in governance.states (which the policy reads too)
from governance.states import WITHDRAWABLE, SchemeState, state_words

__all__ = [
    "WITHDRAWABLE",
    "SchemeState",
    "state_words",
    "AccessRefusal",
    "AuditExport",
    "Delegation",
    "DelegationEvent",
    "DeputyAct",
    "AreaOfSpend",
    "DEFAULT_WEIGHTS",
    "RECURRENT_FIELDS",
    "STAGE_OF_STATE",
    "Opportunity",
    "OpportunityEvent",
    "OpportunityStatus",
    "PipelineStage",
    "StageWeight",
    "DocumentKind",
    "Recurrence",
    "FinancialYear",
    "ImportRun",
    "ImportStatus",
    "MAX_MONTHLY_AMOUNT",
    "MONTHS",
    "MONTH_NAMES",
    "Membership",
    "MonthlyReturn",
    "Organisation",
    "PLAN_FIELDS",
    "Profession",
    "ProgrammeArea",
    "QippTarget",
    "Review",
    "ReviewDecision",
    "ReviewKind",
    "Scheme",
    "SchemeChange",
    "SchemeDocument",
    "SchemeType",
    "System",
    "User",
    "UserSession",
    "document_path",
    "import_path",
]
