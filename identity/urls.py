from django.urls import path

from identity.views import FinishSignIn, StartSignIn

urlpatterns = [
    path("", StartSignIn.as_view(), name="nhsmail_start"),
    path("callback/", FinishSignIn.as_view(), name="nhsmail_callback"),
]
