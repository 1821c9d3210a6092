"""{% error_summary form ... %}: the error summary at the top of a form page.

The GOV.UK pattern: "There is a problem", then each error as a link to its field. It takes any
number of forms, formsets, QIA score sheets (anything iterable of forms) and plain messages,
and renders nothing when none of them has an error. static/js/qipp.js moves the focus to it
when the page loads.
"""

from django import template
from django.forms import BaseForm, BaseFormSet

register = template.Library()


def _field_id(field) -> str:
    # A radio or checkbox list labels its fieldset, not an input: link to its first option.
    return field.id_for_label or (f"{field.auto_id}_0" if field.auto_id else "")


def _form_items(form: BaseForm, prefix: str = "") -> list[tuple[str, str]]:
    if not form.is_bound or not form.errors:
        return []
    prefix = prefix or getattr(form, "label", "")  # a heading of a QIA score sheet has one
    items = []
    for field in form:
        label = f"{prefix}, {field.label.lower()}" if prefix else field.label
        for error in field.errors:
            items.append(("" if field.is_hidden else _field_id(field), f"{label}: {error}"))
    for error in form.non_field_errors():
        items.append(("", f"{prefix}: {error}" if prefix else error))
    return items


def _items(thing, formset_label: str) -> list[tuple[str, str]]:
    if thing is None or thing == "":
        return []
    if isinstance(thing, str):
        return [("", thing)]
    if isinstance(thing, BaseForm):
        return _form_items(thing)
    if isinstance(thing, BaseFormSet):
        if not thing.is_bound:
            return []
        items = [("", f"{formset_label}: {error}") for error in thing.non_form_errors()]
        for number, form in enumerate(thing.forms, start=1):
            items += _form_items(form, f"{formset_label} {number}")
        return items
    return [item for part in thing for item in _items(part, formset_label)]


@register.inclusion_tag("includes/error_summary.html")
def error_summary(*things, formset_label: str = "Row"):
    return {"items": [item for thing in things for item in _items(thing, formset_label)]}
