"""{% carried scheme as carried %}: the years a scheme carries on from and into, for
templates/governance/_carried.html on the scheme page."""

from django import template

from governance.delivery import carry

register = template.Library()


@register.simple_tag
def carried(scheme) -> dict:
    """The scheme of the year before this one's and of the year after (each None when there
    is none), and the whole chain, its multi-year plan, when it spans more than one year."""
    years = carry.years_of(scheme)
    at = next(index for index, one in enumerate(years) if one.pk == scheme.pk)
    return {
        "earlier": years[at - 1] if at > 0 else None,
        "later": years[at + 1] if at + 1 < len(years) else None,
        "years": years if len(years) > 1 else [],
    }
