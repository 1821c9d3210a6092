from django import template

from qia import routes
from qia.models import Band, Route, band_of

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


@register.simple_tag
def route_if_submitted(scheme, version) -> dict:
    """The sign-off route a draft's plan would take if submitted now (qia.routes.choose, on
    the self-assessed risk): the route kept on the QIA was chosen on the plan of the last
    submission, and is decided again at the next."""
    score = routes.self_assessed_score(version)
    route, rule, _reason = routes.choose(scheme, score, "self-assessed QIA risk")
    return {"label": Route(route).label, "rule": rule, "net_saving": scheme.net_saving}
