"""The two ways to sign in: a password (everyone, or only superusers for break-glass), and
the identity provider through mozilla-django-oidc, whose checks of the ID token this module
completes: the library checks the state, the PKCE verifier, the nonce and the signature, but
not the issuer, the audience or the expiry, nor the tenant and the verified e-mail address."""

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.utils.crypto import constant_time_compare
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from identity import accounts, provider
from identity.accounts import SignInRefused

# Seconds by which this server's clock and the provider's may disagree.
CLOCK_SKEW_SECONDS = 120

WRONG_ISSUER = (
    "The answer came from an identity provider this site does not trust, so you have not been "
    "signed in."
)
WRONG_AUDIENCE = (
    "The identity provider's answer was meant for another application, so you have not been "
    "signed in."
)
EXPIRED = (
    "The identity provider's answer had expired when it reached this site, so you have not "
    "been signed in. Start the sign-in again; if it happens again, tell your IT service desk "
    "(the clocks may disagree)."
)
BAD_SIGNATURE = (
    "The identity provider's answer was not signed with its published keys, so you have not "
    "been signed in."
)
REPLAYED_NONCE = (
    "The identity provider's answer belonged to an earlier sign-in, so it was refused. Start "
    "the sign-in again from this site."
)
UNREADABLE = "The identity provider's answer could not be read, so you have not been signed in."
TENANT_NOT_ALLOWED = (
    "Your account belongs to an organisation this site does not accept. Sign in with your "
    "NHSmail account."
)
EMAIL_NOT_VERIFIED = (
    "The identity provider has not verified your e-mail address, so this site cannot tell "
    "who you are. Ask your IT service desk to verify it, then sign in again."
)
NO_EMAIL = (
    "The identity provider did not send your e-mail address, so this site cannot tell who you "
    "are. Ask your IT service desk."
)
UNAVAILABLE = (
    "NHSmail sign-in did not answer just now, so you have not been signed in. Try again in a "
    "few minutes."
)


class PasswordBackend(ModelBackend):
    """Django's username and password. With QIPP_PASSWORD_SIGN_IN_SUPERUSERS_ONLY on, only
    superusers sign in this way (break-glass, for when the provider is down); a session it
    signed in ends on the next request once that is set."""

    def user_can_authenticate(self, user):
        only_superusers = settings.QIPP_PASSWORD_SIGN_IN_SUPERUSERS_ONLY
        return super().user_can_authenticate(user) and (user.is_superuser or not only_superusers)


class ProviderBackend(OIDCAuthenticationBackend):
    """Signs in whoever the identity provider's ID token names, once every check passes. A
    refusal is raised as PermissionDenied (Django then records a failed sign-in for the
    lockout) with the reason left on the request for the page that says it."""

    def __init__(self, *args, **kwargs):
        # Django builds every backend at each sign-in, a password one too: nothing here may
        # need the provider, which is asked only in authenticate()
        self.UserModel = get_user_model()
        self.OIDC_RP_SIGN_ALGO = "RS256"
        self.OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(self, request, nonce=None, code_verifier=None, **kwargs):
        if request is None or nonce is None or not provider.configured():
            return None  # not the provider's callback: a password sign-in
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        try:
            self.OIDC_OP_TOKEN_ENDPOINT, self.OIDC_OP_JWKS_ENDPOINT = provider.endpoints(
                "token_endpoint", "jwks_uri"
            )
            return super().authenticate(request, nonce=nonce, code_verifier=code_verifier)
        except SignInRefused as refusal:
            request.sign_in_refusal = refusal
        except (provider.Unavailable, requests.RequestException):
            # the provider did not answer, or refused to exchange the code for tokens
            request.sign_in_refusal = SignInRefused(UNAVAILABLE)
        raise PermissionDenied(request.sign_in_refusal.reason)

    def verify_token(self, token, **kwargs):
        """The ID token's claims, once its signature, issuer, audience, times and nonce hold."""
        try:
            key = self.retrieve_matching_jwk(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=settings.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_ISSUER,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.InvalidIssuerError as exc:
            raise SignInRefused(WRONG_ISSUER) from exc
        except jwt.InvalidAudienceError as exc:
            raise SignInRefused(WRONG_AUDIENCE) from exc
        except jwt.ExpiredSignatureError as exc:
            raise SignInRefused(EXPIRED) from exc
        except (jwt.InvalidSignatureError, SuspiciousOperation) as exc:
            # signed with a key the provider does not publish (SuspiciousOperation: no key
            # with the token's id)
            raise SignInRefused(BAD_SIGNATURE) from exc
        except jwt.PyJWTError as exc:  # any other defect of the token or of the key
            raise SignInRefused(UNREADABLE) from exc
        if not constant_time_compare(str(claims.get("nonce", "")), str(kwargs.get("nonce", ""))):
            raise SignInRefused(REPLAYED_NONCE, who=str(claims.get("email", "")))
        return claims

    def get_or_create_user(self, access_token, id_token, payload):
        # The verified ID token says who they are: Entra ID's user-info endpoint sends neither
        # the groups nor the tenant, so it is not asked.
        check_person(payload)
        return accounts.user_signing_in(payload, issuer=settings.OIDC_ISSUER)

    def get_user(self, user_id):
        user = super().get_user(user_id)
        # a deactivated user's sessions are ended when they are deactivated; this holds too
        # for one deactivated by a bulk update, which saves no user
        return user if user is not None and self.user_can_authenticate(user) else None


def is_provider_sign_in(request, credentials=None) -> bool:
    """AXES_WHITELIST_CALLABLE: the provider's way back is not counted by the sign-in lockout.
    It carries no password to guess (a refused one is on the refusal log), and a count by
    address alone would let five stale links pause sign-in for everyone behind an NHS
    network's shared address. An account the lockout has paused stays paused this way too
    (identity.views.FinishSignIn)."""
    return bool(credentials) and credentials.get("nonce") is not None


def check_person(claims: dict) -> None:
    """The person is one this site accepts: from an allowed tenant (Entra ID's 'tid'), with an
    e-mail address the provider has verified."""
    who = str(claims.get("email", ""))
    allowed = settings.OIDC_ALLOWED_TENANTS
    if allowed and claims.get("tid") not in allowed:
        raise SignInRefused(TENANT_NOT_ALLOWED, who=who)
    if not who:
        raise SignInRefused(NO_EMAIL)
    # email_verified is the standard claim; Entra ID sends xms_edov ("e-mail domain owner
    # verified") instead, when the application asks for it as an optional claim
    if claims.get("email_verified") is not True and claims.get("xms_edov") is not True:
        raise SignInRefused(EMAIL_NOT_VERIFIED, who=who)
