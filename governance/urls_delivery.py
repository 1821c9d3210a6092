"""Delivery pages, included at the site root by config/urls.py."""

from django.urls import path

from governance import views_carry
from governance import views_delivery as views
from notifications import views as escalation_views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path(
        "schemes/<int:pk>/start-delivery/",
        views.scheme_start_delivery,
        name="scheme_start_delivery",
    ),
    path("schemes/<int:pk>/complete/", views.scheme_complete, name="scheme_complete"),
    # a scheme stops only by a QAG decision on an escalation: this leads to it
    path("schemes/<int:pk>/stop/", escalation_views.scheme_stop, name="scheme_stop"),
    # the PMO carries recurrent savings into next year; the project lead confirms each plan
    path("schemes/carry/", views_carry.scheme_carry, name="scheme_carry"),
    path(
        "schemes/<int:pk>/carried-plan/",
        views_carry.carried_plan_confirm,
        name="carried_plan_confirm",
    ),
    path("returns/assure/", views.returns_assure_all, name="returns_assure_all"),
    path("returns/assured/", views.assured_values, name="assured_values"),
    path("schemes/<int:pk>/returns/new/", views.return_edit, name="return_new"),
    path("schemes/<int:pk>/returns/<int:month>/", views.return_edit, name="return_edit"),
    path(
        "schemes/<int:pk>/returns/<int:month>/assure/",
        views.return_assure,
        name="return_assure",
    ),
]
