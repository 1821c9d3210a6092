"""Across schemes: the heat map, the risk register and the flags raised for QAG."""

from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse

from governance import roles
from governance.pages import Refused, signed_in
from governance.selectors import visible_schemes
from qia import selectors
from qia.forms import RiskFilterForm
from qia.models import QagFlag


@signed_in
def heatmap(request):
    form = RiskFilterForm(request.GET or None, user=request.user)
    versions = selectors.current_risks(request.user, **form.filters())
    return render(
        request,
        "qia/heatmap.html",
        {
            "form": form,
            "query": urlencode({k: v for k, v in form.query().items() if v}),
            **selectors.heatmap(versions, form.query()),
        },
    )


@signed_in
def register(request):
    form = RiskFilterForm(request.GET or None, user=request.user)
    data = form.cleaned_data if form.is_valid() else {}
    sort = data.get("sort") or "score"
    versions = _register_versions(request.user, form, data, sort)
    page = Paginator(versions, getattr(settings, "QIPP_PAGE_SIZE", 25)).get_page(
        request.GET.get("page")
    )
    selectors.mark_due(page)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "qia/register.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "sorts": _sort_links(query),
            "sort": sort,
            "heatmap_url": reverse("qia_heatmap"),
        },
    )


def _register_versions(user, form, data: dict, sort: str):
    """The current risks the user may see, filtered as asked (a heatmap cell: its
    consequence and likelihood), in the order asked."""
    versions = selectors.current_risks(user, **form.filters())
    if data.get("consequence"):
        versions = versions.filter(top_consequence=data["consequence"])
    if data.get("likelihood"):
        versions = versions.filter(top_likelihood=data["likelihood"])
    return selectors.register_rows(versions, sort).prefetch_related("flags")


def _sort_links(query) -> dict[str, str]:
    """The query of each column heading's link: the same filters, sorted by that column."""
    sorts = {}
    for key in selectors.REGISTER_SORTS:
        link = query.copy()
        link["sort"] = key
        sorts[key] = link.urlencode()
    return sorts


FLAG_ROLES = [
    roles.QAG_MEMBER,
    roles.PMO,
    roles.QUALITY_LEAD,
    roles.CHIEF_NURSE,
    roles.CLINICAL_CHAIR,
]


@signed_in
def flags(request):
    if not any(request.user.has_role(role) for role in FLAG_ROLES):
        raise Refused(
            "The QIA flags for QAG are for QAG members, the PMO, quality leads and signatories.",
            action="view QIA flags",
        )
    found = (
        QagFlag.objects.filter(scheme__in=visible_schemes(request.user).values("pk"))
        .select_related("scheme__organisation", "version")
        .order_by("-raised_at")
    )
    page = Paginator(found, getattr(settings, "QIPP_PAGE_SIZE", 25)).get_page(
        request.GET.get("page")
    )
    return render(request, "qia/flags.html", {"page": page})
