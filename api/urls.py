"""The read-only API under /api/, and the pages for one's own tokens."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from api import views, views_tokens

app_name = "api"

router = SimpleRouter()
router.register("schemes", views.SchemeViewSet, basename="scheme")
router.register("plans", views.PlanViewSet, basename="plan")
router.register("returns", views.ReturnViewSet, basename="return")
router.register("escalations", views.EscalationViewSet, basename="escalation")
router.register("qia-scores", views.QiaScoreViewSet, basename="qia-score")

urlpatterns = [
    path("", views.Root.as_view(), name="root"),
    path("organisations/", views.OrganisationList.as_view(), name="organisation-list"),
    path("tables/", views.TableList.as_view(), name="table-list"),
    path("tables/<str:table>/", views.TableDetail.as_view(), name="table-detail"),
    path("schema/", views.Schema.as_view(), name="schema"),
    path("docs/", views.Docs.as_view(), name="docs"),
    path("tokens/", views_tokens.token_list, name="tokens"),
    path("tokens/<int:pk>/revoke/", views_tokens.token_revoke, name="token_revoke"),
    *router.urls,
]
