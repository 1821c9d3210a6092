from django.apps import AppConfig


class QiaConfig(AppConfig):
    name = "qia"
    verbose_name = "Quality impact assessment"

    def ready(self):
        # The QIA's rules, submit gate, tasks, buttons, scheme-page block and timeline events.
        from governance import policy, selectors, services
        from notifications import tasks as notification_tasks
        from qia import conditions, conditions_pages, page_parts, routes
        from qia import policy as rules
        from qia import selectors as mine
        from qia.services import submit_check

        if submit_check in services.SUBMIT_CHECKS:
            return  # already wired in
        for action, rule in rules.POLICY_RULES.items():
            policy.register(action, rule)
        for action, check in rules.DEPUTY_CHECKS.items():
            policy.register_deputy_check(action, check)
        services.SUBMIT_CHECKS.append(submit_check)
        services.SUBMIT_STEPS.append(routes.on_submit)
        # how the refusal log words the QIA's own steps ("may not approve SCH-1")
        services.ACTION_VERBS.update(
            {
                "panel_agree": "record the panel's agreement on",
                "panel_return": "return",
                "panel_dismiss": "dismiss",
                "sign_off": "approve",
                "decline_sign_off": "decline",
                "qag_approve": "record QAG's approval of",
            }
        )
        selectors.TASK_SOURCES.extend(
            [
                page_parts.panel_tasks,
                page_parts.sign_off_tasks,
                page_parts.qag_approval_tasks,
                page_parts.project_lead_tasks,
            ]
        )
        selectors.TEAM_TASK_SOURCES.add(page_parts.project_lead_tasks)
        selectors.ACTION_SOURCES.append(mine.scheme_actions)
        selectors.SECTION_SOURCES.append(page_parts.scheme_section)
        selectors.HISTORY_SOURCES.append(page_parts.scheme_events)
        selectors.JUDGEMENT_SOURCES.append(page_parts.judgements)
        # approval with conditions: the owner's tasks, the scheme page's block and history
        selectors.TASK_SOURCES.append(conditions_pages.condition_tasks)
        selectors.PERSONAL_TASK_SOURCES.add(conditions_pages.condition_tasks)
        selectors.SECTION_SOURCES.append(conditions_pages.conditions_section)
        selectors.HISTORY_SOURCES.append(conditions_pages.condition_events)
        # an overdue condition met: the scheme's escalation rules run again once it commits
        conditions.CONDITION_MET_HOOKS.append(
            lambda *, condition, **_: notification_tasks.rules_due([condition.scheme_id])
        )
