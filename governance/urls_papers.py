"""The committee paper; the project includes these under /reports/paper/, before the reports
(whose /reports/<table>/ would otherwise take "paper" for a table)."""

from django.urls import path

from governance import views_papers

urlpatterns = [
    path("", views_papers.report_paper, name="report_paper"),
]
