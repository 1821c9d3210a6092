"""Settings checks (manage.py check): a half-configured provider is an error before the site
starts, not a failed sign-in later."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def sign_in_settings(app_configs, **kwargs):
    problems = []
    if settings.OIDC_ISSUER and not (settings.OIDC_RP_CLIENT_ID and settings.OIDC_RP_CLIENT_SECRET):
        problems.append(
            checks.Error(
                "OIDC_ISSUER is set but OIDC_CLIENT_ID or OIDC_CLIENT_SECRET is not: set all "
                "three (docs/sign-in.md), or none.",
                id="identity.E001",
            )
        )
    if settings.QIPP_PASSWORD_SIGN_IN_SUPERUSERS_ONLY and not settings.OIDC_ISSUER:
        problems.append(
            checks.Warning(
                "QIPP_PASSWORD_SIGN_IN_SUPERUSERS_ONLY is on without OIDC_ISSUER: only "
                "superusers can sign in at all.",
                id="identity.W001",
            )
        )
    return problems


@checks.register(checks.Tags.security, deploy=True)
def provider_over_https(app_configs, **kwargs):
    if settings.OIDC_ISSUER and not settings.OIDC_ISSUER.startswith("https://"):
        return [
            checks.Error(
                f"OIDC_ISSUER is {settings.OIDC_ISSUER}: a real provider is reached over https.",
                id="identity.E002",
            )
        ]
    return []
