"""The identity provider this site signs people in with: whether one is set up (OIDC_ISSUER),
where its endpoints are (its discovery document), and the address that signs a person out
there too."""

import logging
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.urls import reverse

logger = logging.getLogger("qipp.security")


class Unavailable(Exception):
    """The provider did not answer, or not with what a provider publishes."""


def configured() -> bool:
    return bool(settings.OIDC_ISSUER)


def endpoints(*names: str) -> list[str]:
    """The addresses the provider publishes under `names` ("token_endpoint", "jwks_uri"), read
    from its discovery document, asked afresh each time: a sign-in asks once or twice, and a
    provider that moves is followed at once."""
    address = f"{settings.OIDC_ISSUER.rstrip('/')}/.well-known/openid-configuration"
    try:
        response = requests.get(address, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        found = response.json()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("the identity provider's discovery document failed: %s", exc)
        raise Unavailable(str(exc)) from exc
    if not isinstance(found, dict):
        raise Unavailable(f"{address} is not a discovery document")
    missing = [name for name in names if not isinstance(found.get(name), str) or not found[name]]
    if missing:
        raise Unavailable(f"the provider publishes no {', '.join(missing)}")
    return [found[name] for name in names]


def sign_out_address(request) -> str | None:
    """Where to send someone signing out to end their session at the provider too, then come
    back to the sign-in page; None when they did not sign in through it, or it cannot say."""
    id_token = request.session.get("oidc_id_token")
    if not id_token or not configured():
        return None
    try:
        (end_session,) = endpoints("end_session_endpoint")
    except Unavailable:
        return None  # signed out here; the provider's own session ends on its own
    query = urlencode(
        {
            "id_token_hint": id_token,
            "client_id": settings.OIDC_RP_CLIENT_ID,
            "post_logout_redirect_uri": request.build_absolute_uri(reverse("login")),
        }
    )
    return f"{end_session}?{query}"
