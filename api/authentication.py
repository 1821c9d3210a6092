"""Who is calling: the API takes only `Authorization: Bearer <key>`. There is no session
authentication on the data routes, so a page on another site cannot borrow a signed-in
browser's cookie to read the API."""

from rest_framework import authentication, exceptions

from api import tokens


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # no key: the permission check answers 401
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the key as one word after Bearer: Authorization: Bearer <key>."
            )
        try:
            key = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("The key is not a valid key.") from None
        token = tokens.token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed("No token has this key.")
        if token.is_revoked:
            raise exceptions.AuthenticationFailed(
                "This token was revoked: make a new one on your Account page."
            )
        if not token.owner.is_active:
            raise exceptions.AuthenticationFailed(
                "The owner of this token is no longer active: the token no longer works."
            )
        tokens.token_used(token)
        return token.owner, token

    def authenticate_header(self, request):
        # makes a missing or refused key a 401 rather than a 403
        return self.keyword
