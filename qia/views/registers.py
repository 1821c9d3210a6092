"""Across schemes: the heat map, the risk register and the flags raised for QAG."""

from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse
from django.utils import dateformat, timezone

from governance import roles
from governance.pages import Refused, signed_in
from governance.reports import lists
from governance.selectors import visible_schemes
from qia import selectors
from qia.forms import RiskFilterForm
from qia.models import Band, QagFlag, band_of


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
    """The current agreed risks the user may see, filtered and sorted; ?format=csv or xlsx
    downloads all of them."""
    form = RiskFilterForm(request.GET or None, user=request.user)
    data = form.cleaned_data if form.is_valid() else {}
    sort = data.get("sort") or "score"
    versions = _register_versions(request.user, form, data, sort)
    listing = lists.listing(request, form)
    if listing.wants_file:
        return lists.response(_register_download(versions), listing.output)
    page = Paginator(versions, getattr(settings, "QIPP_PAGE_SIZE", 25)).get_page(
        request.GET.get("page")
    )
    selectors.mark_due(page)
    return render(
        request,
        "qia/register.html",
        {
            "form": form,
            "page": page,
            **listing.context(),
            "sorts": _sort_links(listing.query),
            "sort": sort,
            "heatmap_url": reverse("qia_heatmap"),
        },
        status=listing.status,
    )


def _register_download(versions) -> lists.Download:
    """The register's columns as its page shows them, for every risk it lists."""
    versions = list(versions)
    selectors.mark_due(versions)  # one query a row: a download is asked for, not browsed
    columns = [
        lists.Column("Scheme", lambda v: f"{v.qia.scheme.reference} {v.qia.scheme.title}"),
        lists.Column("Organisation", lambda v: v.qia.scheme.organisation.code),
        lists.Column("Year", lambda v: v.qia.scheme.financial_year.label),
        lists.Column("SRO", lambda v: v.qia.scheme.sro),
        lists.Column("Scheme state", lambda v: v.qia.scheme.get_state_display()),
        lists.Column("QIA", _qia_cell),
        lists.Column("Overall score", lambda v: _score(v.overall_score)),
        lists.Column(
            "Highest heading",
            lambda v: (
                f"{v.get_top_heading_display()}: {v.top_consequence} × {v.top_likelihood}"
                if v.top_score
                else "—"
            ),
        ),
        lists.Column("Review date", _review_cell),
    ]
    return lists.Download(f"qia_risk_register_{timezone.localdate():%Y-%m-%d}", columns, versions)


def _qia_cell(version) -> str:
    shown = f"v{version.number} · {version.get_status_display().lower()}"
    return f"{shown} · QAG flag" if version.flags.all() else shown


def _score(score) -> str:
    """As the page's risk badge (qia_tags.risk) reads it: "12 · High"."""
    if not score:
        return "—"
    band = band_of(score)
    return f"{score} · {Band(band).label if band else ''}"


def _review_cell(version) -> str:
    shown = dateformat.format(version.review_date, "j M Y") if version.review_date else "—"
    return f"{shown} · Due for re-assessment" if version.due else shown


def _register_versions(user, form, data: dict, sort: str):
    """The current risks the user may see, filtered as asked (a heatmap cell: its
    consequence and likelihood), in the order asked."""
    versions = selectors.current_risks(user, **form.filters())
    if data.get("consequence"):
        versions = versions.filter(top_consequence=data["consequence"])
    if data.get("likelihood"):
        versions = versions.filter(top_likelihood=data["likelihood"])
    versions = versions.select_related("qia__scheme__sro")
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
