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
        self._connect_delivery()
        self._connect_pipeline()
        self._connect_deputies()

    def _connect_delivery(self):
        """What delivery tracking adds to the PID workflow: its access rules, its tasks in the
        inbox, its buttons and its block on the scheme page, its entries in the history."""
        from governance import policy, selectors
        from governance.delivery import monthly_returns, page_parts

        if page_parts.TASK_SOURCES[0] in selectors.TASK_SOURCES:
            return  # already connected
        for action, rule in monthly_returns.POLICY_RULES.items():
            policy.register(action, rule)
        selectors.TASK_SOURCES.extend(page_parts.TASK_SOURCES)
        selectors.TEAM_TASK_SOURCES.update(page_parts.TEAM_TASK_SOURCES)
        selectors.ACTION_SOURCES.extend(page_parts.ACTION_SOURCES)
        selectors.SECTION_SOURCES.extend(page_parts.SECTION_SOURCES)
        selectors.HISTORY_SOURCES.extend(page_parts.HISTORY_SOURCES)

    def _connect_pipeline(self):
        """What the pipeline adds to the scheme page: the events of the opportunity a scheme
        was written up from, in its history."""
        from governance import pipeline, selectors

        if pipeline.scheme_events not in selectors.HISTORY_SOURCES:
            selectors.HISTORY_SOURCES.append(pipeline.scheme_events)

    def _connect_deputies(self):
        """A workflow step a deputy takes for someone away says so in the history, and is kept
        for the principal to read when back (governance.deputies.note_step)."""
        from django.db.models.signals import pre_save
        from django_fsm_log.models import StateLog

        from governance import deputies

        pre_save.connect(deputies.note_step, sender=StateLog, dispatch_uid="qipp_deputy_step")

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
