"""The read-only API (issue 21): schemes, plans, returns, escalations, QIA headline scores and
the committee tables, each exactly as the owner's pages show them within the token's
organisations (api.visibility). Every call is logged; the key never is."""

import re

from django.contrib.auth.decorators import login_required
from django.utils import timezone
from django.utils.decorators import method_decorator
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import permissions, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import (
    AuthenticationFailed,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from api import filters, serializers, visibility
from api.authentication import ApiTokenAuthentication
from api.models import ApiCall
from api.throttling import RefusedKeyThrottle
from api.tokens import KEY_PREFIX
from governance import reports
from governance.delivery import schedule
from governance.models import FinancialYear, MonthlyReturn, Organisation, Scheme
from governance.services import record_refusal
from notifications.models import Escalation
from qia.models import QiaVersion

# a key pasted into the address by mistake is blanked out of the log
KEY_IN_QUERY = re.compile(re.escape(KEY_PREFIX) + r"[A-Za-z0-9_\-%]*")


def log_call(request, response) -> None:
    """One ApiCall row: the token (none when the key was missing or refused), the method, the
    path and query, and the status answered."""
    token = getattr(request, "_auth", None)
    ApiCall.objects.create(
        token=token if token is not None and token.pk else None,
        method=request.method[:10],
        path=request.path[:500],
        query=KEY_IN_QUERY.sub(KEY_PREFIX + "…", request.META.get("QUERY_STRING", ""))[:2000],
        status=response.status_code,
    )


class ApiView(APIView):
    """What every data route shares: a token only, read only, logged."""

    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    def initial(self, request, *args, **kwargs):
        try:
            super().initial(request, *args, **kwargs)
        except (NotAuthenticated, AuthenticationFailed):
            # a call without a working key counts against its address; past the rate it is
            # answered 429 instead of 401
            throttle = RefusedKeyThrottle()
            if not throttle.allow_request(request, self):
                self.throttled(request, throttle.wait())
            raise

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        log_call(request, response)
        if response.status_code == 403:
            # a refusal is on the refusal log with its reason (ACCESS.md)
            record_refusal(
                user=request.user,
                action=f"API {request.method}",
                target=request.path,
                reason=str(getattr(response, "data", {}).get("detail", "Refused.")),
            )
        return response


class ReadOnlyViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    """A list and its rows, filtered by year, organisation and state of the scheme."""

    to_scheme = "scheme__"

    def rows(self):
        raise NotImplementedError

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema is drawn without a token
            return self.queryset
        readable = list(visibility.organisations(self.request.auth).values_list("code", flat=True))
        return filters.by_scheme(
            self.rows(), self.request.query_params, readable, to_scheme=self.to_scheme
        )


LIST_PARAMETERS = extend_schema_view(list=extend_schema(parameters=filters.PARAMETERS))


@LIST_PARAMETERS
class SchemeViewSet(ReadOnlyViewSet):
    """The schemes the token's owner sees on the scheme list: a draft only to its team and the
    PMO of its organisation."""

    serializer_class = serializers.SchemeSerializer
    to_scheme = ""

    queryset = Scheme.objects.none()  # for the schema; the rows come from rows()
    # what the serializer reads of each scheme's neighbours, in the same query
    related = ("organisation", "financial_year", "programme_area", "area_of_spend")
    related += ("project_lead", "sro")

    def rows(self):
        return (
            visibility.schemes(self.request.auth)
            .select_related(*self.related)
            .defer("description", "closure_delivered", "closure_lessons", "stop_decision")
            .order_by("financial_year__start_year", "organisation__code", "reference")
        )


@LIST_PARAMETERS
class PlanViewSet(SchemeViewSet):
    """Each visible scheme's monthly savings plan (month 1 is April)."""

    serializer_class = serializers.PlanSerializer
    related = ("organisation", "financial_year")


@LIST_PARAMETERS
class ReturnViewSet(ReadOnlyViewSet):
    """The monthly returns of the visible schemes in delivery, as their Delivery block shows."""

    serializer_class = serializers.ReturnSerializer

    queryset = MonthlyReturn.objects.none()  # for the schema; the rows come from rows()

    def rows(self):
        return (
            visibility.returns(self.request.auth)
            .select_related("scheme__organisation", "scheme__financial_year")
            .order_by("scheme__financial_year__start_year", "scheme__reference", "month")
        )


@LIST_PARAMETERS
class EscalationViewSet(ReadOnlyViewSet):
    """Escalations: for the PMO and QAG members of the system, and the escalated scheme's team."""

    serializer_class = serializers.EscalationSerializer

    queryset = Escalation.objects.none()  # for the schema; the rows come from rows()

    def rows(self):
        return (
            visibility.escalations(self.request.auth)
            .select_related("scheme__organisation", "scheme__financial_year", "owner")
            .order_by("-raised_at", "-id")
        )


@LIST_PARAMETERS
class QiaScoreViewSet(ReadOnlyViewSet):
    """The risk register: each visible scheme's current agreed QIA and its agreed scores."""

    serializer_class = serializers.QiaScoreSerializer
    to_scheme = "qia__scheme__"

    queryset = QiaVersion.objects.none()  # for the schema; the rows come from rows()

    def rows(self):
        return visibility.qia_scores(self.request.auth).order_by(
            "qia__scheme__financial_year__start_year", "qia__scheme__reference"
        )


# what the API's entry point lists: each data route's address, then the schema and its docs
ROUTES = {
    "schemes": "api:scheme-list",
    "plans": "api:plan-list",
    "returns": "api:return-list",
    "escalations": "api:escalation-list",
    "qia_scores": "api:qia-score-list",
    "organisations": "api:organisation-list",
    "tables": "api:table-list",
    "schema": "api:schema",
    "docs": "api:docs",
}


class Root(ApiView):
    """The API's entry point: the address of each of its routes, the OpenAPI schema and the
    docs page (which opens to a signed-in person, not to a key)."""

    @extend_schema(operation_id="root", responses={200: dict})
    def get(self, request):
        return Response({key: reverse(name, request=request) for key, name in ROUTES.items()})


class OrganisationList(ApiView):
    """The organisations this token sees: what ?organisation= takes."""

    @extend_schema(responses=serializers.OrganisationSerializer(many=True))
    def get(self, request):
        found = visibility.organisations(request.auth)
        return Response(serializers.OrganisationSerializer(found, many=True).data)


TABLE_PARAMETERS = [
    OpenApiParameter("year", str, required=True, description="A financial year, like 2019/20."),
    OpenApiParameter(
        "month",
        int,
        description=(
            "As at month 1 (April) to 12 (March); if none, the latest month whose returns are "
            "due, as the pages open (12 for a year gone by)."
        ),
    ),
    OpenApiParameter("by", str, enum=list(reports.BY_CHOICES), description="Grouping."),
    OpenApiParameter("scope", str, enum=list(reports.SCOPES), description="What it counts."),
    OpenApiParameter("organisation", str, description="Only this organisation's figures."),
]


class TableList(ApiView):
    """The committee tables there are, by name."""

    @extend_schema(operation_id="tables_list", responses={200: dict})
    def get(self, request):
        return Response(reports.TABLES)


class TableDetail(ApiView):
    """A committee table as its page shows it, for the systems of the token's organisations.
    A table adds up every organisation of a system: for a token that names only some of them,
    the other organisations' rows (or columns) and the totals, which include them, are left
    out; a table grouped by programme area, whose every figure includes them, is refused."""

    @extend_schema(
        operation_id="table_retrieve",
        parameters=TABLE_PARAMETERS,
        responses=serializers.TableSerializer,
    )
    def get(self, request, table: str):
        if table not in reports.TABLES:
            raise NotFound(
                f"There is no table {table!r}: choose one of {', '.join(reports.TABLES)}."
            )
        params = request.query_params
        try:
            year, month, by = reports.parse_selection(
                table,
                year=params.get("year", ""),
                month=params.get("month") or _latest_month_due(params.get("year", "")),
                by=params.get("by") or "organisation",
            )
            scope = reports.parse_scope(table, params.get("scope"))
        except reports.ReportError as exc:
            raise ValidationError({"detail": exc.message}) from None
        seen = list(visibility.organisations(request.auth))
        wanted = filters.organisation_asked(params, [o.code for o in seen]).casefold()
        if wanted:
            seen = [o for o in seen if o.code.casefold() == wanted]
        # the systems of the organisations the token sees, each one of the owner's
        system_ids = {o.system_id for o in seen} & request.user.system_ids
        result = reports.build(
            table, year=year, month=month, by=by, system_ids=system_ids, scope=scope
        )
        codes = {o.code for o in seen}
        if not _whole_systems(codes, system_ids):
            result = _only(result, codes)
        return Response(serializers.TableSerializer(result).data)


def _latest_month_due(label: str) -> int:
    """A table asked for without a month is as at the latest month whose returns are due, as
    the report pages open: a month not yet due would count its savings as undelivered."""
    start = FinancialYear.parse_label(label)
    year = FinancialYear.objects.filter(start_year=start).first() if start else None
    if year is None:
        return 12  # parse_selection then says what is wrong with the year
    return max(schedule.reporting_month(year, timezone.localdate()), 1)


def _whole_systems(codes: set[str], system_ids: set[int]) -> bool:
    every = set(
        Organisation.objects.filter(system_id__in=system_ids).values_list("code", flat=True)
    )
    return every <= codes


def _only(result, codes: set[str]):
    """The table cut to these organisations: their rows, or their columns; no totals."""
    if result.by != "organisation":
        raise PermissionDenied(
            "A table by programme area adds up every organisation of the system, and this token "
            "sees only some of them: ask for it by organisation."
        )
    org_columns = [c for c in result.columns if c.key in codes]
    if any(c.key == "total" for c in result.columns):
        # organisations are the columns (requirement, area of spend)
        keep = {c.key for c in org_columns}
        result.columns = org_columns
        for row in result.rows:
            row.cells = [cell for cell in row.cells if cell.column.key in keep]
    else:
        result.rows = [r for r in result.rows if r.label in codes and not r.total]
    # the drafts counted are the whole system's: not said of a cut table
    result.drafts = None
    result.notes = [*result.notes, "Only the organisations this token sees: no totals."]
    return result


# --- the schema and its page: for a signed-in person (the docs page) or a token ---


class Schema(SpectacularAPIView):
    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    permission_classes = [permissions.IsAuthenticated]


@method_decorator(login_required, name="dispatch")
class Docs(SpectacularSwaggerSplitView):
    """Swagger UI from our own static files (drf-spectacular-sidecar), its start-up script a
    file of its own: the site's CSP allows no inline script or style."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [permissions.IsAuthenticated]
    template_name = "api/swagger_ui.html"
    url_name = "api:schema"
