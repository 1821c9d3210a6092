"""Any number in a page's address, as anyone: never a server error."""

import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.access.demo import undone, url_patterns
from tests.access.table import TABLE
from tests.fuzz.test_forms import FUZZ

pytestmark = pytest.mark.django_db

PATTERNS = url_patterns()

# the pages with a number in their address, and the other parts they need
NUMBERED = sorted(
    name for name, (params, _route) in PATTERNS.items() if name in TABLE and params - {"kind"}
)
OTHER_PARTS = {"kind": "finance", "table": "summary"}
FEW = settings(FUZZ, max_examples=4)


@pytest.mark.parametrize("name", [n for n in NUMBERED if n != "report_table"])
def test_no_number_in_an_address_is_a_server_error(demo, name):
    params = PATTERNS[name][0]
    client = demo.client("wl-all")

    @FEW
    @given(
        numbers=st.fixed_dictionaries(
            {
                param: st.one_of(
                    st.sampled_from([0, 1, 12, 13, 2**31, 2**63, 10**20]),
                    st.integers(min_value=0, max_value=10**30),
                )
                for param in params - set(OTHER_PARTS)
            }
        )
    )
    def get(numbers):
        kwargs = {**{k: v for k, v in OTHER_PARTS.items() if k in params}, **numbers}
        url = reverse(name, kwargs=kwargs)
        for method in (client.get, client.post):
            with undone():
                response = method(url)
            assert response.status_code < 500, (url, response.status_code)

    get()
