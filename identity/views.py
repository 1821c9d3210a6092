"""Signing in through the identity provider and out of it: the pages a person passes through,
each refusal on a page that says why (and on the refusal log), never an error page."""

import logging

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from governance.middleware import locked_out
from governance.services import record_refusal
from identity import provider
from identity.accounts import SignInRefused
from identity.backends import UNAVAILABLE
from identity.models import IdentityEvent

logger = logging.getLogger("qipp.security")

ALREADY_USED = (
    "This sign-in had already been used, or was started in another browser, so it was "
    "refused. Start the sign-in again from this site."
)


def refused(request, refusal: SignInRefused):
    _on_record(refusal.who, refusal.reason)
    return render(request, "identity/refused.html", {"reason": refusal.reason}, status=403)


def _on_record(who: str, reason: str) -> None:
    """A refused sign-in on the refusal log: nobody is signed in, so the person is named by
    what the provider said (their e-mail address or username)."""
    record_refusal(user=None, action="sign in with the provider", target=who, reason=reason)


class StartSignIn(OIDCAuthenticationRequestView):
    """The "Sign in with NHSmail" button: off to the provider with a fresh state, nonce and
    PKCE challenge, kept in the session for the way back."""

    def __init__(self, **kwargs):
        # the library's own reads the provider's address here; it is read in get(), where
        # a provider that does not answer is a page, not a server error
        View.__init__(self, **kwargs)

    def get(self, request):
        if not provider.configured():
            raise Http404("Sign-in with an identity provider is not set up here.")
        try:
            (self.OIDC_OP_AUTH_ENDPOINT,) = provider.endpoints("authorization_endpoint")
        except provider.Unavailable:
            return refused(request, SignInRefused(UNAVAILABLE))
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class FinishSignIn(OIDCAuthenticationCallbackView):
    """The provider sends the person back here with a code: the library checks the state and
    exchanges the code, identity.backends checks the token and finds the account."""

    def get(self, request):
        if not provider.configured():
            raise Http404("Sign-in with an identity provider is not set up here.")
        try:
            return super().get(request)
        except SuspiciousOperation:
            # a state this browser's session never started, or has used already
            return refused(request, SignInRefused(ALREADY_USED))

    def login_success(self):
        request, user = self.request, self.user
        if settings.AXES_ENABLED and AxesProxyHandler.is_locked(
            request, {"username": user.get_username()}
        ):
            # the sign-in lockout holds whichever way the person signs in
            _on_record(
                user.get_username(),
                "Signed in at the provider, but sign-in is paused for this account from this "
                "address after too many wrong passwords.",
            )
            return locked_out(request)
        response = super().login_success()
        IdentityEvent.objects.create(user=user, kind=IdentityEvent.Kind.SIGNED_IN)
        logger.info("%s signed in with the identity provider", user.get_username())
        return response

    def login_failure(self):
        request = self.request
        user = getattr(self, "user", None)
        if user is not None and not user.is_active:
            return self._inactive(user)
        refusal = getattr(request, "sign_in_refusal", None)
        if refusal is None and request.GET.get("error"):
            said = request.GET.get("error_description") or request.GET["error"]
            refusal = SignInRefused(f"The identity provider did not sign you in: {said[:200]}")
        return refused(request, refusal or SignInRefused(ALREADY_USED))

    def _inactive(self, user):
        waiting = getattr(getattr(user, "identity", None), "awaiting_approval", False)
        reason = (
            "your account is waiting for an administrator to approve it"
            if waiting
            else "your account here has been deactivated"
        )
        _on_record(user.email, f"Signed in at the provider, but {reason}.")
        return render(self.request, "identity/inactive.html", {"waiting": waiting}, status=403)


class SignOut(auth_views.LogoutView):
    """Django's sign-out; someone who signed in through the provider is then sent to sign out
    there too, and comes back to the sign-in page."""

    def post(self, request, *args, **kwargs):
        at_provider = provider.sign_out_address(request)  # before the session forgets the token
        response = super().post(request, *args, **kwargs)
        return redirect(at_provider) if at_provider else response
