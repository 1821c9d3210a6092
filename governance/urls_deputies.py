from django.urls import path

from governance import views_deputies

urlpatterns = [
    path("", views_deputies.deputy_list, name="deputy_list"),
    path("<int:pk>/dates/", views_deputies.deputy_dates, name="deputy_dates"),
    path("<int:pk>/end/", views_deputies.deputy_end, name="deputy_end"),
]
