import pytest

from tests.access.demo import seeded


@pytest.fixture(scope="package")
def demo(django_db_setup, django_db_blocker):
    """The demo world, seeded once for every fuzzing module and rolled back after them."""
    yield from seeded(django_db_blocker)
