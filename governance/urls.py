from django.urls import path

from governance import views

urlpatterns = [
    path("", views.home, name="home"),
    path("tasks/", views.my_tasks, name="my_tasks"),
    path("schemes/", views.scheme_list, name="scheme_list"),
    path("schemes/new/", views.scheme_create, name="scheme_create"),
    path("schemes/<int:pk>/", views.scheme_detail, name="scheme_detail"),
    path("schemes/<int:pk>/edit/", views.scheme_edit, name="scheme_edit"),
    path("schemes/<int:pk>/submit/", views.scheme_submit, name="scheme_submit"),
    path("schemes/<int:pk>/review/<str:kind>/", views.scheme_review, name="scheme_review"),
    path("schemes/<int:pk>/withdraw/", views.scheme_withdraw, name="scheme_withdraw"),
    path("schemes/<int:pk>/documents/", views.document_upload, name="document_upload"),
    path("documents/<int:pk>/", views.document_download, name="document_download"),
    path("documents/<int:pk>/delete/", views.document_delete, name="document_delete"),
]
