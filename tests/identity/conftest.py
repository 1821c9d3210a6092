"""A real OpenID provider (tests/oidc) for the module, this site set up to sign in through it,
and the groups of the demo's ELR mapped to roles."""

import pytest
from django.contrib.auth.models import Group

from governance import roles
from identity.models import GroupRole
from tests.factories import OrganisationFactory
from tests.oidc import Browser, Provider, person

SITE = "http://testserver"
FINANCE_GROUP = "0b7c-finance-reviewers-elr"
CLINICAL_GROUP = "41aa-clinical-reviewers-elr"
PEOPLE = {
    "finance": {"claims": person("fiona.reviewer@nhs.net", groups=[FINANCE_GROUP])},
    "newcomer": {"claims": person("nadia.new@nhs.net", groups=["9f00-unmapped-group"])},
}


@pytest.fixture(scope="module")
def provider():
    started = Provider(site=SITE, people=PEOPLE)
    yield started
    started.stop()


@pytest.fixture
def nhsmail(settings, provider):
    """This site signs in through the provider; its people as PEOPLE says."""
    provider.people = PEOPLE
    for name, value in provider.settings().items():
        setattr(settings, name, value)
    return provider


@pytest.fixture
def elr(db):
    return OrganisationFactory(code="ELR")


@pytest.fixture
def mapped(elr):
    """The finance and clinical reviewer groups of ELR give those roles there."""
    for group_id, role in (
        (FINANCE_GROUP, roles.FINANCE_REVIEWER),
        (CLINICAL_GROUP, roles.CLINICAL_REVIEWER),
    ):
        GroupRole.objects.create(
            group_id=group_id,
            group_name=f"{role}s, ELR",
            role=Group.objects.get(name=role),
            organisation=elr,
        )


@pytest.fixture
def browser():
    """The person's browser at the provider."""
    return Browser(SITE)
