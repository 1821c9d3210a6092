"""The demo world with a token for every person the access matrix walks."""

from django.core.cache import cache
from django.test import Client

from api import tokens
from api.models import ApiToken
from tests.access.demo import seeded
from tests.access.table import PEOPLE


def token_for(user, organisations=None, name="Power BI") -> tuple[ApiToken, str]:
    """A token of `user` naming `organisations` (default: all of theirs). Made on the model
    for the admin, who belongs to no organisation and so could not make one on the page."""
    organisations = list(user.organisations.all() if organisations is None else organisations)
    token = ApiToken(name=name, owner=user, created_by=user)
    key = tokens.new_key()
    tokens.set_key(token, key)
    token.save()
    token.organisations.set(organisations)
    return token, key


def with_keys(django_db_blocker):
    """The body of a module fixture: (demo, {person: key}), rolled back at the end."""
    for demo in seeded(django_db_blocker):
        with django_db_blocker.unblock():
            keys = {who: token_for(demo.users[who])[1] for who in PEOPLE if who != "anon"}
        yield demo, keys


def api(key: str | None = None) -> Client:
    cache.clear()  # the rate limit's counts start again for each test
    return Client(headers={"Authorization": f"Bearer {key}"} if key else {})


def every_row(client: Client, url: str, **params) -> list[dict]:
    """Every row of a list, page after page."""
    rows, page = [], 1
    while True:
        response = client.get(url, {**params, "page": page, "page_size": 1000})
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        body = response.json()
        rows += body["results"]
        if not body["next"]:
            return rows
        page += 1
