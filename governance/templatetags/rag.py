"""RAG badges for scheme lists and pages.

On a list, rate the whole page in one go, then show each scheme's badge:

    {% load rag %}
    {% rag_map page.object_list as rags %}
    ... {% for scheme in page.object_list %} ... <td>{% rag_badge scheme rags %}</td>

Without a map, `{% rag_badge scheme %}` rates that one scheme (one query).
"""

from django import template
from django.utils.html import format_html, format_html_join

from governance import delivery
from governance.templatetags.qipp import pounds

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


RECOVERY_BADGE = format_html(' <span class="badge text-bg-light border">{}</span>', "Recovery")


@register.simple_tag
def off_track_rows(off_track):
    """The dashboard's off-track table body, a row per (scheme, Rag). Drawn here: the list
    may run to a few hundred schemes, and a template loop costs several times as much."""
    return format_html_join(
        "\n",
        '<tr><td><a href="{}#delivery">{}</a> {}{}</td><td>{}</td><td>{}</td>'
        '<td class="num">{}</td><td class="num">{}</td><td class="num">{}</td>'
        '<td class="num">{}</td><td class="small">{}</td></tr>',
        (
            (
                scheme.get_absolute_url(),
                scheme.reference,
                scheme.title,
                RECOVERY_BADGE if scheme.is_recovery else "",
                scheme.organisation.code,
                rag_badge_html(rag),
                pounds(rag.ytd_plan),
                pounds(rag.ytd_actual),
                pounds(rag.forecast_outturn),
                pounds(rag.annual_plan),
                rag.summary,
            )
            for scheme, rag in off_track
        ),
    )
