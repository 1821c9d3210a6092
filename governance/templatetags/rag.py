"""RAG badges for scheme lists and pages.

On a list, rate the whole page in one go, then show each scheme's badge:

    {% load rag %}
    {% rag_map page.object_list as rags %}
    ... {% for scheme in page.object_list %} ... <td>{% rag_badge scheme rags %}</td>

Without a map, `{% rag_badge scheme %}` rates that one scheme (one query). A RAG already
worked out (the dashboard, the scheme page) is shown with `{% rag_badge_of rag %}`.
"""

from django import template

from governance.delivery import rating

register = template.Library()


@register.simple_tag
def rag_map(schemes) -> dict:
    """{scheme id: Rag or None} for the schemes, in at most two queries."""
    return rating.rag_for(schemes)


@register.inclusion_tag("delivery/_rag_badge.html")
def rag_badge(scheme, rags: dict | None = None):
    """The scheme's RAG as at its latest returns due; nothing before delivery starts."""
    if rags is not None:
        return {"rag": rags.get(scheme.pk)}
    return {"rag": rating.rag_for([scheme]).get(scheme.pk)}


@register.inclusion_tag("delivery/_rag_badge.html")
def rag_badge_of(rag):
    """The badge of a RAG already worked out."""
    return {"rag": rag}
