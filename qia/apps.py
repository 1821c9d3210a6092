from django.apps import AppConfig


class QiaConfig(AppConfig):
    name = "qia"
    verbose_name = "Quality impact assessment"

    def ready(self):
        # The QIA's rules, submit gate, tasks, buttons, scheme-page block and timeline events.
        from governance import policy, selectors, services
        from qia import page_parts
        from qia import policy as rules
        from qia import selectors as mine
        from qia.services import submit_check

        if submit_check in services.SUBMIT_CHECKS:
            return  # already wired in
        for action, rule in rules.POLICY_RULES.items():
            policy.register(action, rule)
        services.SUBMIT_CHECKS.append(submit_check)
        # how the refusal log words the QIA's own steps ("may not approve SCH-1")
        services.ACTION_VERBS.update(
            {
                "panel_agree": "record the panel's agreement on",
                "panel_return": "return",
                "panel_dismiss": "dismiss",
                "sign_off": "approve",
                "decline_sign_off": "decline",
            }
        )
        selectors.TASK_SOURCES.extend(
            [page_parts.panel_tasks, page_parts.sign_off_tasks, page_parts.project_lead_tasks]
        )
        selectors.TEAM_TASK_SOURCES.add(page_parts.project_lead_tasks)
        selectors.ACTION_SOURCES.append(mine.scheme_actions)
        selectors.SECTION_SOURCES.append(page_parts.scheme_section)
        selectors.HISTORY_SOURCES.append(page_parts.scheme_events)
        selectors.JUDGEMENT_SOURCES.append(page_parts.judgements)
