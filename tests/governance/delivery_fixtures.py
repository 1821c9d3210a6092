"""What the delivery tests add to the test world (tests/world.py): a second finance reviewer
and a second PMO in ELR, for segregation of duties (who entered a return may not assure it).
A test module that needs them takes this `people` fixture in place of the suite's."""

import pytest

from governance import roles


@pytest.fixture
def people(llr) -> dict:
    llr.add_user("elr-finance-reviewer-2", "elr", roles.FINANCE_REVIEWER)
    llr.add_user("elr-pmo-2", "elr", roles.PMO)
    return llr.users
