from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = "Sign-in with NHSmail"

    def ready(self):
        from django.db.models.signals import post_save

        from governance.models import User
        from identity import accounts, checks  # noqa: F401 - registers the settings checks

        # an account an administrator makes active is approved, whichever page they used
        post_save.connect(accounts.on_user_saved, sender=User, dispatch_uid="identity_user_saved")
