"""RAG badges for scheme lists and pages.

On a list, rate the whole page in one go, then show each scheme's badge:

    {% load rag %}
    {% rag_map page.object_list as rags %}
    ... {% for scheme in page.object_list %} ... <td>{% rag_badge scheme rags %}</td>

Without a map, `{% rag_badge scheme %}` rates that one scheme (one query).
"""

from django import template
from django.utils.html import format_html

from governance import delivery

register = template.Library()


@register.simple_tag
def rag_map(schemes) -> dict:
    """{scheme id: Rag or None} for the schemes, in at most two queries."""
    return delivery.rag_for(schemes)


BADGE_STYLES = {"green": "success", "amber": "warning", "red": "danger"}


@register.simple_tag
def rag_badge(scheme, rags: dict | None = None):
    """The scheme's RAG as at its latest returns due; nothing before delivery starts."""
    rag = rags.get(scheme.pk) if rags is not None else delivery.rag_for([scheme]).get(scheme.pk)
    return rag_badge_html(rag)


@register.simple_tag
def rag_badge_of(rag):
    """The badge of a RAG already worked out (the dashboard, the scheme page)."""
    return rag_badge_html(rag)


def rag_badge_html(rag) -> str:
    # one a row on the lists and the dashboard: drawn here, not by a template each
    if not rag:
        return ""
    return format_html(
        '<span class="badge rag-badge text-bg-{}" title="{}">{}'
        '<span class="visually-hidden">: {}</span></span>',
        BADGE_STYLES.get(rag.status, "light border"),
        rag.summary,
        rag.label,
        rag.summary,
    )
