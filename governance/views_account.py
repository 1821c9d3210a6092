"""The signed-in user's own account: who they are here, how they hear of notices, and their
password."""

import logging

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from governance.forms import PasswordChangeForm
from governance.middleware import locked_out
from governance.pages import posted
from notifications import digest
from notifications.forms import NoticePreferencesForm
from notifications.models import DigestSettings

logger = logging.getLogger("qipp.security")


@login_required
def account(request):
    """Who the user is here; and, posted, when they hear of each kind of notice by mail."""
    user = request.user
    form = NoticePreferencesForm(posted(request), initial=digest.preferences_of(user))
    if request.method == "POST" and form.is_valid():
        digest.preferences_save(user=user, timings=form.cleaned_data)
        messages.success(request, "Your choices of how to hear of notices are saved.")
        return redirect("account")
    return render(
        request,
        "registration/account.html",
        {
            "organisations": user.organisations.select_related("system").order_by("code"),
            "roles": user.role_labels,
            "form": form,
            "digest_at": DigestSettings.load().send_at,
        },
    )


class SignIn(auth_views.LoginView):
    """Django's sign-in page, except that someone reaching it while a session is signed in
    (another person's, left open on a shared computer) first signs that session out, and is
    told so: whatever they do next, they never carry on as the person before them."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            previous = str(request.user)
            logout(request)
            messages.info(
                request,
                f"{previous} was signed in on this browser and has been signed out. "
                "Sign in as yourself.",
            )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        # "Sign in with NHSmail" when an identity provider is set up (docs/sign-in.md)
        return super().get_context_data(
            provider_label=settings.OIDC_SIGN_IN_LABEL if settings.OIDC_ISSUER else "",
            superusers_only=settings.QIPP_PASSWORD_SIGN_IN_SUPERUSERS_ONLY,
            **kwargs,
        )


class PasswordChange(auth_views.PasswordChangeView):
    """Change one's own password: the current one, then the new one twice, checked by the
    password validators. Other browsers signed in as the user are signed out (their sessions
    carry the old password's hash); this one stays signed in."""

    form_class = PasswordChangeForm
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("account")

    # A wrong current password counts as a failed sign-in of the user, from this address: the
    # form must not be a way round the sign-in lockout to guess someone's password in a
    # browser left signed in. At the limit the browser is signed out and shown the lockout.

    def post(self, request, *args, **kwargs):
        if self._locked_out():
            return self._sign_out_locked()
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if form.has_error("old_password", "password_incorrect"):
            user_login_failed.send(
                sender=__name__, credentials=self._credentials(), request=self.request
            )
            if self._locked_out():
                return self._sign_out_locked()
        return super().form_invalid(form)

    def _credentials(self) -> dict:
        return {"username": self.request.user.get_username()}

    def _locked_out(self) -> bool:
        return settings.AXES_ENABLED and AxesProxyHandler.is_locked(
            self.request, self._credentials()
        )

    def _sign_out_locked(self):
        logger.warning(
            "signed out %s after too many wrong current passwords",
            self.request.user.get_username(),
        )
        logout(self.request)
        return locked_out(self.request)

    def form_valid(self, form):
        response = super().form_valid(form)
        logger.info("password changed by %s", self.request.user.username)
        messages.success(
            self.request,
            "Your password has been changed. Any other browser signed in as you has been "
            "signed out.",
        )
        return response
