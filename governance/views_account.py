"""The signed-in user's own account: who they are here, and their password."""

import logging

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse_lazy

logger = logging.getLogger("qipp.security")


@login_required
def account(request):
    user = request.user
    return render(
        request,
        "registration/account.html",
        {
            "organisations": user.organisations.select_related("system").order_by("code"),
            "roles": user.role_labels,
        },
    )


class PasswordChange(auth_views.PasswordChangeView):
    """Change one's own password: the current one, then the new one twice, checked by the
    password validators. Other browsers signed in as the user are signed out (their sessions
    carry the old password's hash); this one stays signed in."""

    template_name = "registration/password_change.html"
    success_url = reverse_lazy("account")

    def form_valid(self, form):
        response = super().form_valid(form)
        logger.info("password changed by %s", self.request.user.username)
        messages.success(
            self.request,
            "Your password has been changed. Any other browser signed in as you has been "
            "signed out.",
        )
        return response
