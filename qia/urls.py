from django.urls import path

from qia.views import (
    bulk_sign_off,
    conditions,
    panel,
    qag_approval,
    reading,
    registers,
    self_assessment,
    sign_off,
)

urlpatterns = [
    path("heatmap/", registers.heatmap, name="qia_heatmap"),
    path("register/", registers.register, name="qia_register"),
    path("qag-flags/", registers.flags, name="qia_flags"),
    path("<int:pk>/", reading.qia_detail, name="qia_detail"),
    path("<int:pk>/v<int:number>/", reading.qia_detail, name="qia_version"),
    path("<int:pk>/v<int:number>/print/", reading.qia_print, name="qia_print"),
    path("<int:pk>/v<int:number>/pdf/", reading.qia_pdf, name="qia_pdf"),
    path("<int:pk>/v<int:number>/panel/", panel.panel, name="qia_version_panel"),
    path("<int:pk>/history/", reading.qia_history, name="qia_history"),
    path("<int:pk>/self-assessment/", self_assessment.self_assessment, name="qia_self_assessment"),
    path("<int:pk>/send-to-panel/", self_assessment.send_to_panel, name="qia_send_to_panel"),
    path("<int:pk>/eqia/", self_assessment.attach_eqia, name="qia_eqia"),
    path("<int:pk>/score/", panel.score, name="qia_score"),
    path("<int:pk>/panel/", panel.panel, name="qia_panel"),
    path("<int:pk>/agree/", panel.agree, name="qia_agree"),
    path("<int:pk>/return-or-dismiss/", panel.panel_close, name="qia_panel_close"),
    path("<int:pk>/sign-off/", sign_off.sign_off, name="qia_sign_off"),
    path("<int:pk>/qag-approval/", qag_approval.qag_approval, name="qia_qag_approval"),
    path("sign-off/several/", bulk_sign_off.bulk_sign_off, name="qia_bulk_sign_off"),
    path("<int:pk>/reassess/", sign_off.reassess, name="qia_reassess"),
    path("versions/<int:version_id>/eqia/", reading.eqia_download, name="qia_eqia_download"),
    path("conditions/<int:pk>/meet/", conditions.condition_meet, name="qia_condition_meet"),
]
