"""The identity provider this site signs people in with: whether one is set up (OIDC_ISSUER),
where its endpoints are (its discovery document), and the address that signs a person out
there too."""

import logging
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

logger = logging.getLogger("qipp.security")

# The provider's discovery document (its endpoints and key address) is kept in the cache
# this long: it changes only when the provider moves. The signing keys are fetched afresh at
# every sign-in.
DISCOVERY_SECONDS = 3600


class Unavailable(Exception):
    """The provider did not answer, or not with what a provider publishes."""


def configured() -> bool:
    return bool(settings.OIDC_ISSUER)


def _discovery() -> dict:
    key = f"oidc-discovery:{settings.OIDC_ISSUER}"
    found = cache.get(key)
    if found is None:
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
        cache.set(key, found, DISCOVERY_SECONDS)
    return found


def endpoint(name: str) -> str:
    """The address the provider publishes under `name` ("token_endpoint", "jwks_uri")."""
    address = _discovery().get(name)
    if not isinstance(address, str) or not address:
        raise Unavailable(f"the provider publishes no {name}")
    return address


def sign_out_address(request) -> str | None:
    """Where to send someone signing out to end their session at the provider too, then come
    back to the sign-in page; None when they did not sign in through it, or it cannot say."""
    id_token = request.session.get("oidc_id_token")
    if not id_token or not configured():
        return None
    try:
        end_session = endpoint("end_session_endpoint")
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
