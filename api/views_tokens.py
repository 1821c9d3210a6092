"""The Account page's API tokens: make one (its key shown once), list them, revoke one. A person
manages their own tokens only; service tokens are made in the admin."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from api import tokens
from api.forms import TokenForm
from api.models import ApiToken
from governance.pages import Refused, signed_in


@signed_in
def token_list(request):
    form = TokenForm(request.POST or None, user=request.user)
    key = None
    if request.method == "POST" and form.is_valid():
        try:
            token, key = tokens.token_create(
                owner=request.user,
                name=form.cleaned_data["name"],
                organisations=list(form.cleaned_data["organisations"]),
                by=request.user,
            )
        except tokens.TokenRefused as exc:
            form.add_error(None, exc.message)
        else:
            # the key is in this answer only: no redirect, so it is never stored to show later
            messages.success(request, f"Token {token.name} made. Copy its key now.")
            form = TokenForm(user=request.user)
    mine = ApiToken.objects.filter(owner=request.user).prefetch_related("organisations")
    return render(
        request,
        "api/tokens.html",
        {"form": form, "tokens": mine, "key": key},
        status=400 if form.errors else 200,
    )


@signed_in
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk)
    if token.owner_id != request.user.pk:
        raise Refused(
            "You can revoke your own tokens only.", action="revoke API token", target=f"token {pk}"
        )
    tokens.token_revoke(token=token, by=request.user)
    messages.success(request, f"Token {token.name} revoked: its key no longer works.")
    return redirect("api:tokens")
