from django.urls import path

from notifications import views

urlpatterns = [
    path("", views.notification_list, name="notification_list"),
    path("read/", views.mark_all_read, name="notification_mark_all_read"),
    path("<int:pk>/open/", views.notification_open, name="notification_open"),
    path("escalations/", views.escalation_list, name="escalation_list"),
    path("escalations/<int:pk>/", views.escalation_detail, name="escalation_detail"),
    path(
        "escalations/<int:pk>/remedial-action/",
        views.escalation_remedial,
        name="escalation_remedial",
    ),
    path("escalations/<int:pk>/raise/", views.escalation_raise, name="escalation_raise"),
    path("escalations/<int:pk>/decide/", views.escalation_decide, name="escalation_decide"),
    path("qag-pack/", views.qag_pack, name="qag_pack"),
    path("qag-pack/pdf/", views.qag_pack_pdf, name="qag_pack_pdf"),
]
