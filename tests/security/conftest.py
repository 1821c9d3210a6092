import pytest

from governance import roles
from tests.factories import OrganisationFactory, UserFactory


@pytest.fixture
def lead(db):
    """A project lead of ELR, password "pw"."""
    return UserFactory(
        username="elr-project-lead",
        roles=[roles.PROJECT_LEAD],
        organisations=[OrganisationFactory(code="ELR")],
    )


@pytest.fixture
def staff(db):
    """An administrator: staff and superuser, password "pw"."""
    return UserFactory(username="admin", is_staff=True, is_superuser=True)
