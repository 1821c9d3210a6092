"""The sign-in settings come from the environment alone: unset, nothing changes; set, the
site points at the provider and lets the sign-out form go on to it."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'issuer': s.OIDC_ISSUER, 'client': s.OIDC_RP_CLIENT_ID, "
    "'tenants': s.OIDC_ALLOWED_TENANTS, "
    "'superusers_only': s.QIPP_PASSWORD_SIGN_IN_SUPERUSERS_ONLY, "
    "'form_action': [str(a) for a in s.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action']]}))"
)


def settings_with(**environment) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OIDC_", "QIPP_PASSWORD"))
    }
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", **environment)
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", READ], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_with_nothing_set_there_is_no_provider_and_passwords_are_for_everyone():
    found = settings_with()
    assert found["issuer"] == ""
    assert found["superusers_only"] is False
    assert found["form_action"] == ["'self'"]


def test_the_variables_point_the_site_at_the_provider():
    found = settings_with(
        OIDC_ISSUER="https://login.microsoftonline.com/37c354b2-85b0-47f5-b222-07b48d774ee3/v2.0",
        OIDC_CLIENT_ID="6731de76-14a6-49ae-97bc-6eba6914391e",
        OIDC_CLIENT_SECRET="not-a-real-secret",  # noqa: S106
        OIDC_ALLOWED_TENANTS="37c354b2-85b0-47f5-b222-07b48d774ee3, another",
        QIPP_PASSWORD_SIGN_IN_SUPERUSERS_ONLY="1",
    )
    assert found["client"] == "6731de76-14a6-49ae-97bc-6eba6914391e"
    assert found["tenants"] == ["37c354b2-85b0-47f5-b222-07b48d774ee3", "another"]
    assert found["superusers_only"] is True
    assert found["form_action"] == ["'self'", "https://login.microsoftonline.com"]
