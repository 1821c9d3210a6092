"""RAG badges for scheme lists and pages.

On a list, rate the whole page in one go, then show each scheme's badge:

    {% load rag %}
    {% rag_map page.object_list as rags %}
    ... {% for scheme in page.object_list %} ... <td>{% rag_badge scheme rags %}</td>

Without a map, `{% rag_badge scheme %}` rates that one scheme (one query).
"""

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from governance import delivery
from governance.links import object_urls
from governance.templatetags.qipp import day, pounds, state_badge

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


RECOVERY_BADGE = ' <span class="badge text-bg-light border">Recovery</span>'


@register.simple_tag
def off_track_rows(off_track):
    """The dashboard's off-track table body, a row per (scheme, Rag). Drawn here, escaped as
    the template would: the list may run to a few hundred schemes, and a template loop (or
    format_html a row) costs several times as much."""
    rows, url_of = [], object_urls("scheme_detail")
    for scheme, rag in off_track:
        summary, url = escape(rag.summary), url_of(scheme.pk)
        rows.append(
            f'<tr><td><a href="{url}#delivery">{escape(scheme.reference)}</a> '
            f"{escape(scheme.title)}{RECOVERY_BADGE if scheme.is_recovery else ''}</td>"
            f"<td>{escape(scheme.organisation.code)}</td>"
            f'<td><span class="badge rag-badge text-bg-{BADGE_STYLES[rag.status]}" '
            f'title="{summary}">{rag.label}<span class="visually-hidden">: {summary}</span>'
            f"</span></td>"
            f'<td class="num">{pounds(rag.ytd_plan)}</td><td class="num">{pounds(rag.ytd_actual)}'
            f'</td><td class="num">{pounds(rag.forecast_outturn)}</td>'
            f'<td class="num">{pounds(rag.annual_plan)}</td><td class="small">{summary}</td></tr>'
        )
    # every value is escaped above
    return mark_safe("\n".join(rows))  # noqa: S308  # nosec B308


@register.simple_tag
def missing_rows(missing):
    """The dashboard's missing-returns table body, a row per MissingReturn: drawn here for the
    same reason as off_track_rows, escaped as the template would."""
    rows, url_of = [], object_urls("scheme_detail")
    for entry in missing:
        scheme = entry.scheme
        if entry.overdue:
            status = '<span class="badge text-bg-danger">Overdue</span>'
        else:
            status = f"Due by {day(entry.deadline)}"
        rows.append(
            f'<tr><td><a href="{url_of(scheme.pk)}#delivery">{escape(scheme.reference)}'
            f"</a> {escape(scheme.title)}</td><td>{escape(scheme.organisation.code)}</td>"
            f"<td>{escape(scheme.finance_lead or '—')}</td><td>{escape(scheme.project_lead)}</td>"
            f"<td>{status}</td></tr>"
        )
    # every value is escaped above
    return mark_safe("\n".join(rows))  # noqa: S308  # nosec B308


@register.simple_tag
def scheme_rows(schemes, rags):
    """The scheme list's rows: reference, title, organisation, year, programme area, state,
    RAG and annual plan. Drawn here, escaped as the template would, with plain strings: a
    template loop over 25 rows cost as much as the rest of the page, and format_html a cell
    twice what this does."""
    rows, url_of = [], object_urls("scheme_detail")
    for scheme in schemes:
        rows.append(
            f'<tr><td class="text-nowrap"><a href="{url_of(scheme.pk)}">'
            f"{escape(scheme.reference)}</a></td><td>{escape(scheme.title)}"
            f"{RECOVERY_BADGE if scheme.is_recovery else ''}</td>"
            f"<td>{escape(scheme.organisation.code)}</td>"
            f"<td>{escape(scheme.financial_year.label)}</td>"
            f"<td>{escape(scheme.programme_area)}</td><td>{state_badge(scheme)}</td>"
            f"<td>{rag_badge_html(rags.get(scheme.pk))}</td>"
            f'<td class="num">{pounds(scheme.annual_plan)}</td></tr>'
        )
    # every value is escaped above, or is a badge drawn escaped
    return mark_safe("\n".join(rows))  # noqa: S308  # nosec B308
