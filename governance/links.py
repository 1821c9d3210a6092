"""Addresses reversed once per process. A list shows a link a row, and every page its menu;
reverse() costs more than the rest of such a row, and its answer never changes while the
process runs (the URL configuration and the script prefix are the key)."""

from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

SENTINEL = 987654321


def _key() -> tuple[str, str]:
    return get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF


@lru_cache(maxsize=256)
def _page(key: tuple[str, str], name: str) -> str:
    return reverse(name)


@lru_cache(maxsize=256)
def _object(key: tuple[str, str], name: str) -> tuple[str, str]:
    before, after = reverse(name, args=[SENTINEL]).split(str(SENTINEL))
    return before, after


def page_url(name: str) -> str:
    """reverse(name), for a page that takes no arguments."""
    return _page(_key(), name)


def object_url(name: str, pk: int) -> str:
    """reverse(name, args=[pk]), for a page that takes one number."""
    return object_urls(name)(pk)


def object_urls(name: str) -> Callable[[int], str]:
    """object_url(name, pk) for the many rows of one page, the key read once: a dashboard
    links a few hundred schemes."""
    before, after = _object(_key(), name)
    return lambda pk: f"{before}{int(pk)}{after}"
