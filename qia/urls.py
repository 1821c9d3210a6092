from django.urls import path

from qia import views

urlpatterns = [
    path("heatmap/", views.heatmap, name="qia_heatmap"),
    path("register/", views.register, name="qia_register"),
    path("qag-flags/", views.flags, name="qia_flags"),
    path("<int:pk>/", views.qia_detail, name="qia_detail"),
    path("<int:pk>/v<int:number>/", views.qia_detail, name="qia_version"),
    path("<int:pk>/v<int:number>/print/", views.qia_print, name="qia_print"),
    path("<int:pk>/v<int:number>/panel/", views.panel, name="qia_version_panel"),
    path("<int:pk>/history/", views.qia_history, name="qia_history"),
    path("<int:pk>/self-assessment/", views.self_assessment, name="qia_self_assessment"),
    path("<int:pk>/send-to-panel/", views.send_to_panel, name="qia_send_to_panel"),
    path("<int:pk>/eqia/", views.attach_eqia, name="qia_eqia"),
    path("<int:pk>/score/", views.score, name="qia_score"),
    path("<int:pk>/panel/", views.panel, name="qia_panel"),
    path("<int:pk>/agree/", views.agree, name="qia_agree"),
    path("<int:pk>/return-or-dismiss/", views.panel_close, name="qia_panel_close"),
    path("<int:pk>/sign-off/", views.sign_off, name="qia_sign_off"),
    path("<int:pk>/reassess/", views.reassess, name="qia_reassess"),
    path("versions/<int:version_id>/eqia/", views.eqia_download, name="qia_eqia_download"),
]
