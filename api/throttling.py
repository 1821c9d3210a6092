from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from config.client_ip import client_ip


class RateFromSettings(SimpleRateThrottle):
    def get_rate(self):
        # read when asked, not when the class was defined: a changed setting takes effect
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class TokenRateThrottle(RateFromSettings):
    """So many calls an hour per token (REST_FRAMEWORK's DEFAULT_THROTTLE_RATES["api_token"]):
    keyed by the token, not the address, so one busy report server does not slow another
    behind the same proxy."""

    scope = "api_token"

    def get_cache_key(self, request, view):
        token = getattr(request, "auth", None)
        if token is None:
            return None  # no token, no call: the permission check refuses it first
        return self.cache_format % {"scope": self.scope, "ident": token.pk}


class RefusedKeyThrottle(RateFromSettings):
    """So many calls an hour refused for a missing or wrong key, per address (the address the
    sign-in lockout uses): past it, 429 until the hour moves on, so nobody can try key after
    key, and a report server left without its key slows to a trickle."""

    scope = "api_refused"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}
