"""The address a request came from, as the sign-in lockout keys on it (AXES_CLIENT_IP_CALLABLE).

Behind TRUSTED_PROXY_COUNT proxies, each adds the address it received the request from to
X-Forwarded-For, so the person's own address is the n-th entry from the right: anything to
its left was sent by the client and could be anything. With no proxy, or a request that did not
come through them all, it is the connection's own address.
"""

from django.conf import settings


def client_ip(request) -> str:
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [
        address.strip()
        for address in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if address.strip()
    ]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")
