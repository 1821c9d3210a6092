"""The committee reports and the import page; the project includes these under /reports/."""

from django.urls import path

from governance import views_reports

urlpatterns = [
    path("", views_reports.report_index, name="report_index"),
    # before <table>: "import" is not a report
    path("import/", views_reports.import_upload, name="import_upload"),
    path("import/<int:pk>/", views_reports.import_run, name="import_run"),
    path("import/<int:pk>/errors/", views_reports.import_run_errors, name="import_run_errors"),
    path("<str:table>/", views_reports.report_table, name="report_table"),
]
