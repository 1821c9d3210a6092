from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "QIPP governance"

    def ready(self):
        from django.db.models.signals import post_migrate

        # The roles are created by migration 0002; a test database flushed between tests
        # (transactional tests) gets them back here.
        post_migrate.connect(ensure_roles, sender=self)
        self._connect_session_tracking()
        # delivery tracking adds its policy rules, tasks, buttons and scheme-page block
        from governance import delivery  # noqa: F401

    def _connect_session_tracking(self):
        from django.contrib.auth.signals import user_logged_in, user_logged_out
        from django.db.models.signals import post_save

        from governance import sessions
        from governance.models import User

        user_logged_in.connect(sessions.on_sign_in, dispatch_uid="qipp_sign_in")
        user_logged_out.connect(sessions.on_sign_out, dispatch_uid="qipp_sign_out")
        post_save.connect(sessions.on_user_saved, sender=User, dispatch_uid="qipp_user_saved")


def ensure_roles(**kwargs):
    from django.contrib.auth.models import Group

    from governance import roles

    for name in roles.ALL:
        Group.objects.get_or_create(name=name)
