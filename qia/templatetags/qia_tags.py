from django import template

from qia.models import Band, band_of

register = template.Library()


@register.inclusion_tag("qia/_band.html")
def risk(score):
    """A score with its band, in words as well as colour: "12 · High"."""
    band = band_of(score)
    return {"score": score, "band": band, "label": Band(band).label if band else ""}


@register.filter
def band_label(band) -> str:
    return Band(band).label if band else "No negative impact"


@register.filter
def band_css(score) -> str:
    return band_of(score) or "none"
