"""What a token may read: exactly what its owner's pages show them, within the organisations
the token names (ACCESS.md). Each query starts from the selector the pages use, so a rule
changed there changes here too."""

from django.db.models import QuerySet

from api import tokens
from api.models import ApiToken
from governance import selectors
from governance.delivery.schedule import DELIVERY_STATES
from governance.models import MonthlyReturn, Organisation, Scheme
from notifications.escalations import visible_escalations
from notifications.models import Escalation
from qia import selectors as qia_selectors
from qia.models import QiaVersion


def schemes(token: ApiToken) -> QuerySet[Scheme]:
    """The scheme list's schemes (drafts only to their team and PMO), in the token's
    organisations."""
    return selectors.visible_schemes(token.owner).filter(
        organisation_id__in=tokens.scope_ids(token)
    )


def returns(token: ApiToken) -> QuerySet[MonthlyReturn]:
    """The returns the scheme page's Delivery block shows: of the schemes above, once in
    delivery (the block is not shown before)."""
    return MonthlyReturn.objects.filter(
        scheme__in=schemes(token).values("pk"), scheme__state__in=DELIVERY_STATES
    )


def escalations(token: ApiToken) -> QuerySet[Escalation]:
    """The escalation list's escalations (PMO and QAG members of the system, the scheme's team),
    less any whose scheme the owner may not open (a draft's: the escalation page refuses it)."""
    return visible_escalations(token.owner).filter(scheme__in=schemes(token).values("pk"))


def qia_scores(token: ApiToken) -> QuerySet[QiaVersion]:
    """The risk register's rows: each visible scheme's current agreed QIA, with its agreed
    scores only. A panel member's own scores are never read here, so blind scoring cannot leak
    through the API whoever holds the token."""
    return qia_selectors.current_risks(token.owner).filter(
        qia__scheme__organisation_id__in=tokens.scope_ids(token)
    )


def organisations(token: ApiToken) -> QuerySet[Organisation]:
    return Organisation.objects.filter(pk__in=tokens.scope_ids(token)).select_related("system")
