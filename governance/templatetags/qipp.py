from decimal import Decimal

from crispy_forms.templatetags.crispy_forms_tags import CrispyFormNode
from django import template
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from governance.links import page_url

register = template.Library()

STATE_STYLES = {
    "draft": "secondary",
    "confirm_and_challenge": "info",
    "qia_panel": "info",
    "awaiting_sign_off": "warning",
    "approved": "primary",
    "in_delivery": "primary",
    "completed": "success",
    "stopped": "dark",
    "rejected": "danger",
    "withdrawn": "light",
}


@register.filter
def pounds(value) -> str:
    """£12,345 for whole pounds, £12,345.67 otherwise; negatives as -£12,345."""
    if value is None or value == "":
        return ""
    value = Decimal(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    text = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    return f"{sign}£{text}"


@register.simple_tag
def link(name: str) -> str:
    """{% url name %} for a page without arguments, reversed once per process: the menu on
    every page has a dozen."""
    return page_url(name)


@register.filter
def state_style(state: str) -> str:
    return STATE_STYLES.get(state, "secondary")


@register.simple_tag
def state_badge(scheme):
    """The scheme's state as a coloured badge. Drawn here rather than by a template: a list
    shows one a row, and a template each would cost more than the rest of the row."""
    border = " border" if scheme.state == "withdrawn" else ""
    return format_html(
        '<span class="badge state-badge text-bg-{}{}">{}</span>',
        state_style(scheme.state),
        border,
        scheme.get_state_display(),
    )


# --- timelines: a scheme page may list a hundred entries, so they are drawn here, not by a
# template loop (several times the cost) ---


@register.filter
def day(value) -> str:
    """'1 Dec 2026' in the site's time zone, as the date filter's "j M Y" shows it (a page with
    a few dates: Django's date filter costs several times as much)."""
    if value in (None, ""):
        return ""
    local = timezone.template_localtime(value)
    return f"{local.day} {MONTHS_3[local.month].title()} {local.year}"


@register.filter
def when(value) -> str:
    """'1 Dec 2026 21:40' in the site's time zone, as the date filter's "j M Y H:i" shows it."""
    if value in (None, ""):
        return ""
    local = timezone.template_localtime(value)
    return f"{local.day} {MONTHS_3[local.month].title()} {local.year} {local:%H:%M}"


DETAIL = '<div class="small" style="white-space: pre-line">{}</div>'


@register.simple_tag
def timeline(events):
    """The items of a scheme's history (governance.selectors.Event), newest first."""
    return format_html_join(
        "\n",
        '<li><div class="small text-body-secondary">{} · {}</div><div class="{}">{}</div>{}</li>',
        (
            (
                when(event.at),
                event.who or "system",
                "fw-semibold" if event.kind == "transition" else "",
                event.what,
                format_html(DETAIL, event.detail) if event.detail else "",
            )
            for event in events
        ),
    )


@register.simple_tag
def change_list(changes):
    """The items of a list of field changes (SchemeChange), newest first."""
    return format_html_join(
        "\n",
        '<li><div class="small text-body-secondary">{} · {}</div><div>{}: {} → {}</div></li>',
        (
            (
                when(change.changed_at),
                change.changed_by,
                change.field,
                change.old_value or "(empty)",
                change.new_value or "(empty)",
            )
            for change in changes
        ),
    )


@register.simple_tag
def task_rows(tasks):
    """The rows of a task list (governance.selectors.Task, schemes loaded): a reviewer may
    have fifty to a page."""
    return format_html_join(
        "\n",
        '<tr><td><a href="{}">{}</a> {}</td><td>{}</td>'
        '<td><a class="btn btn-sm btn-outline-primary" href="{}">{}</a></td><td>{}</td></tr>',
        (
            (
                task.scheme.get_absolute_url(),
                task.scheme.reference,
                task.scheme.title,
                task.scheme.organisation.code,
                task.url,
                task.what,
                f"{day(task.since)} ({timesince(task.since)})" if task.since else "",
            )
            for task in tasks
        ),
    )


@register.simple_tag
def options(choices):
    """The <option>s of a drop-down drawn by hand, from (value, label, selected)."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, " selected" if selected else "", label) for value, label, selected in choices),
    )


# --- forms of a transition page, drawn once ---

# The HTML of each blank form drawn so far, by (form class, prefix, initial values), with the
# page's CSRF token taken out. Forms of fixed fields only (`drawn_once`): a handful of kinds,
# each with a few versions and submissions.
_drawn: dict[tuple, str] = {}
_FORM_SLOT = "\x00csrf\x00"  # where the page's token goes
MOST_DRAWN = 1000


@register.simple_tag(takes_context=True)
def crispy_form(context, form):
    """{% crispy form %}, for the forms of the transition pages. A form of fixed fields
    (`drawn_once` on its class) that nobody has filled in yet is drawn once per process for
    each set of initial values it starts with (the scheme's version and submission), and its
    HTML then reused with the page's own CSRF token: crispy-forms took longer to draw a review
    form than the rest of its page. A form with the user's input and errors is drawn afresh."""
    node = CrispyFormNode("form", None)
    token = str(context.get("csrf_token") or "")
    try:
        key = (type(form), form.prefix, tuple(sorted(form.initial.items())))
        hash(key)
    except TypeError:  # an initial value that is not a plain one: no key
        key = None
    if form.is_bound or not getattr(form, "drawn_once", False) or key is None or not token:
        with context.push(form=form):
            return node.render(context)
    html = _drawn.get(key)
    if html is None:
        with context.push(form=form):
            html = str(node.render(context)).replace(token, _FORM_SLOT)
        if len(_drawn) >= MOST_DRAWN:
            _drawn.clear()
        _drawn[key] = html
    # crispy-forms escaped the form as it drew it; the token is letters and digits
    return mark_safe(html.replace(_FORM_SLOT, token))  # noqa: S308  # nosec B308
