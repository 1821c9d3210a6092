from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications and escalations"

    def ready(self):
        # The escalation pieces other apps' pages and services call back into.
        from governance import importers, policy, selectors
        from governance.delivery import monthly_returns
        from notifications import escalations, tasks
        from notifications import selectors as mine

        if mine.escalation_history not in selectors.HISTORY_SOURCES:
            for action, rule in escalations.POLICY_RULES.items():
                policy.register(action, rule)
            selectors.HISTORY_SOURCES.append(mine.escalation_history)
            selectors.SECTION_SOURCES.append(mine.escalation_section)
            selectors.JUDGEMENT_SOURCES.append(mine.judgements)
            selectors.TASK_SOURCES.extend([mine.remedial_tasks, mine.decision_tasks])
            selectors.TEAM_TASK_SOURCES.add(mine.remedial_tasks)
            monthly_returns.RETURN_SAVED_HOOKS.append(tasks.on_return_saved)
            importers.RETURNS_IMPORTED_HOOKS.append(tasks.on_returns_imported)
