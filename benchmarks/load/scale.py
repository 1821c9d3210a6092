"""Scale the demo to a few thousand schemes, and give the load users signed-in sessions.

`scale()` runs seed_demo (the 30 demo schemes with their real histories: reviews, QIAs,
returns), then bulk-creates schemes spread over five organisations (the demo's three in
LLR and two in another system, whose schemes the load users must never see), four financial
years up to the current one and every state, each with a monthly plan, the transition log and
reviews of the path to its state, and monthly returns once in delivery. It then creates the
load users and one session each, and returns the plan the load client reads: who signs in
as whom, and which schemes each kind of user reads or acts on.
"""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

# The share of schemes in each state; those of the current year waiting for a review or
# for delivery to start are the ones the load users act on.
STATE_WEIGHTS = {
    "draft": 6,
    "confirm_and_challenge": 14,
    "qia_panel": 5,
    "awaiting_sign_off": 4,
    "approved": 10,
    "in_delivery": 35,
    "completed": 14,
    "stopped": 3,
    "rejected": 5,
    "withdrawn": 4,
}
# The transitions that bring a scheme to each state: (transition, source, target).
PATHS = {
    "draft": [],
    "confirm_and_challenge": [("submit", "draft", "confirm_and_challenge")],
    "qia_panel": [
        ("submit", "draft", "confirm_and_challenge"),
        ("finance_review", "confirm_and_challenge", "confirm_and_challenge"),
        ("clinical_review", "confirm_and_challenge", "qia_panel"),
    ],
    "rejected": [
        ("submit", "draft", "confirm_and_challenge"),
        ("finance_review", "confirm_and_challenge", "rejected"),
    ],
    "withdrawn": [
        ("submit", "draft", "confirm_and_challenge"),
        ("withdraw", "confirm_and_challenge", "withdrawn"),
    ],
}
PATHS["awaiting_sign_off"] = [
    *PATHS["qia_panel"],
    ("panel_agree", "qia_panel", "awaiting_sign_off"),
]
PATHS["approved"] = [
    *PATHS["awaiting_sign_off"],
    ("sign_off", "awaiting_sign_off", "awaiting_sign_off"),
    ("sign_off", "awaiting_sign_off", "approved"),
]
PATHS["in_delivery"] = [*PATHS["approved"], ("start_delivery", "approved", "in_delivery")]
PATHS["completed"] = [*PATHS["in_delivery"], ("complete", "in_delivery", "completed")]
PATHS["stopped"] = [*PATHS["in_delivery"], ("stop", "in_delivery", "stopped")]
REVIEWED = {"qia_panel", "awaiting_sign_off", "approved", "in_delivery", "completed", "stopped"}
DELIVERING = {"in_delivery", "completed", "stopped"}

# The load users: role -> (group, how many per LLR organisation).
LOAD_USERS = {
    "reader": ("Viewer", 10),
    "finance": ("Finance reviewer", 3),
    "clinical": ("Clinical reviewer", 3),
    "pmo": ("PMO", 2),
}
LLR = ["ELR", "WL", "LC"]
OTHER_SYSTEM = {"NA": "North Alpha CCG", "NB": "North Beta CCG"}
PROFILE = [Decimal(x) for x in "0.6 0.7 0.8 0.9 1 1 1.1 1.1 1.2 1.2 1.2 1.2".split()]


def current_start_year(today: date) -> int:
    return today.year if today.month >= 4 else today.year - 1


def months_complete(start_year: int, today: date) -> int:
    """How many months of the financial year starting `start_year` are over by `today`."""
    if current_start_year(today) > start_year:
        return 12
    return (today.month - 4) % 12


def scale(total: int = 5000, *, seed: int = 2020) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.db.models import Max
    from django_fsm_log.models import StateLog

    from governance.models import (
        PLAN_FIELDS,
        AreaOfSpend,
        FinancialYear,
        Membership,
        MonthlyReturn,
        Organisation,
        ProgrammeArea,
        QippTarget,
        Review,
        Scheme,
        System,
        User,
    )

    call_command("seed_demo", verbosity=0)
    rng = random.Random(seed)
    today = date.today()
    this_year = current_start_year(today)
    with transaction.atomic():
        years = [
            FinancialYear.objects.get_or_create(start_year=y)[0]
            for y in range(this_year - 3, this_year + 1)
        ]
        north, _ = System.objects.get_or_create(code="NORTH", defaults={"name": "North system"})
        orgs = {org.code: org for org in Organisation.objects.filter(code__in=LLR)}
        for code, name in OTHER_SYSTEM.items():
            orgs[code] = Organisation.objects.get_or_create(
                code=code, defaults={"name": name, "system": north}
            )[0]
        for org in orgs.values():
            for year in years:
                QippTarget.objects.get_or_create(
                    organisation=org,
                    financial_year=year,
                    defaults={"requirement": Decimal(rng.randint(15, 25) * 1_000_000)},
                )
        areas = list(ProgrammeArea.objects.all())
        spends = list(AreaOfSpend.objects.all())

        # people: the schemes' teams and reviewers, and the load users
        password = make_password(None)  # nobody signs in with a password here
        groups = {g.name: g for g in Group.objects.all()}
        people = {}
        for code in orgs:
            for role, group, count in [
                ("lead", "Project lead", 20),
                ("sro", "SRO", 5),
                ("fin", "Finance reviewer", 2),
                ("clin", "Clinical reviewer", 2),
            ] + [(role, group, count) for role, (group, count) in LOAD_USERS.items()]:
                if role in LOAD_USERS and code not in LLR:
                    continue
                prefix = f"load-{code}-{role}"
                people[code, role] = _users(
                    User, Membership, groups[group], orgs[code], prefix, count, password
                )

        # schemes
        states = list(STATE_WEIGHTS)
        weights = list(STATE_WEIGHTS.values())
        start = Scheme.objects.aggregate(top=Max("sequence"))["top"] or 0
        codes = list(orgs)
        schemes = []
        to_make = max(total - Scheme.objects.count(), 0)
        for i in range(to_make):
            code = codes[i % len(codes)] if rng.random() < 0.9 else rng.choice(LLR)
            org = orgs[code]
            year = rng.choice(years)
            state = rng.choices(states, weights)[0]
            if state in ("confirm_and_challenge", "approved", "draft", "qia_panel"):
                year = years[-1]  # still being decided: this year's schemes
            monthly = Decimal(rng.randint(2, 120) * 500)
            sequence = start + i + 1
            schemes.append(
                Scheme(
                    reference=f"{code}-{year.code}-{sequence:05d}",
                    sequence=sequence,
                    title=f"{rng.choice(areas).name} scheme {sequence}",
                    description="Bulk-created for the load benchmark.",
                    organisation=org,
                    financial_year=year,
                    programme_area=rng.choice(areas),
                    area_of_spend=rng.choice(spends),
                    scheme_type=rng.choice(["transactional", "transformational"]),
                    is_recovery=rng.random() < 0.1,
                    project_lead=rng.choice(people[code, "lead"]),
                    sro=rng.choice(people[code, "sro"]),
                    created_by=people[code, "lead"][0],
                    start_date=year.start_date,
                    state=state,
                    submission_round=0 if state == "draft" else 1,
                    state_changed_at=datetime.now(UTC) - timedelta(days=rng.randint(1, 200)),
                    **{
                        name: (monthly * PROFILE[m]).quantize(Decimal("1"))
                        for m, name in enumerate(PLAN_FIELDS)
                    },
                )
            )
        Scheme.objects.bulk_create(schemes, batch_size=1000)

        # their history, reviews and returns
        scheme_type = ContentType.objects.get_for_model(Scheme)
        logs, reviews, returns = [], [], []
        for scheme in schemes:
            code = scheme.organisation.code
            when = scheme.state_changed_at - timedelta(days=30)
            for transition, source, target in PATHS[scheme.state]:
                when += timedelta(days=rng.randint(1, 5))
                logs.append(
                    StateLog(
                        timestamp=when,
                        by=scheme.project_lead,
                        state=target,
                        source_state=source,
                        transition=transition,
                        description="Bulk-created for the load benchmark",
                        content_type=scheme_type,
                        object_id=scheme.pk,
                    )
                )
            kinds = ["finance", "clinical"] if scheme.state in REVIEWED else []
            if scheme.state == "rejected":
                kinds = ["finance"]
            for kind in kinds:
                reviews.append(
                    Review(
                        scheme=scheme,
                        kind=kind,
                        round=1,
                        reviewer=people[code, "fin" if kind == "finance" else "clin"][0],
                        decision="not_supported" if scheme.state == "rejected" else "supported",
                        comment="Bulk-created for the load benchmark.",
                    )
                )
            if scheme.state in DELIVERING:
                done = months_complete(scheme.financial_year.start_year, today)
                if scheme.state == "stopped":
                    done = min(done, rng.randint(3, 9))
                share = Decimal(rng.choice(["0.6", "0.9", "1", "1", "1.05"]))
                for month in range(1, done + 1):
                    if rng.random() < 0.05:
                        continue  # a return not in yet
                    actual = (scheme.plan[month - 1] * share).quantize(Decimal("1"))
                    returns.append(
                        MonthlyReturn(
                            scheme=scheme,
                            month=month,
                            actual=actual,
                            forecast_outturn=(scheme.annual_plan * share).quantize(Decimal("1"))
                            if rng.random() < 0.6
                            else None,
                            pmo_assured=actual if rng.random() < 0.5 else None,
                            entered_by=scheme.project_lead,
                        )
                    )
        StateLog.objects.bulk_create(logs, batch_size=2000)
        Review.objects.bulk_create(reviews, batch_size=2000)
        MonthlyReturn.objects.bulk_create(returns, batch_size=2000)

    # what autovacuum does soon after a load: fresh statistics for the planner, and the
    # visibility map that lets PostgreSQL count from an index without reading the table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return _plan(orgs, years, people)


def _users(User, Membership, group, organisation, prefix: str, count: int, password: str):
    wanted = [f"{prefix}-{n}" for n in range(1, count + 1)]
    existing = {u.username: u for u in User.objects.filter(username__in=wanted)}
    new = [
        User(
            username=name,
            first_name=prefix.split("-")[-1].title(),
            last_name=name.rsplit("-", 1)[-1],
            email=f"{name}@example.nhs.uk",
            password=password,
        )
        for name in wanted
        if name not in existing
    ]
    User.objects.bulk_create(new)
    users = list(User.objects.filter(username__in=wanted).order_by("username"))
    group.user_set.add(*users)
    Membership.objects.bulk_create(
        [Membership(user=u, organisation=organisation) for u in users], ignore_conflicts=True
    )
    return users


def _plan(orgs, years, people) -> dict:
    """What the load client needs: sessions by role, and the schemes to read and act on."""
    from benchmarks.load.stack import make_session
    from governance.models import Scheme, SchemeState

    llr = [orgs[code].pk for code in LLR]
    visible = Scheme.objects.filter(organisation_id__in=llr).exclude(state=SchemeState.DRAFT)
    this_year = years[-1]

    def pool(code: str, state: str) -> list[int]:
        return list(
            Scheme.objects.filter(
                organisation=orgs[code], financial_year=this_year, state=state
            ).values_list("pk", flat=True)
        )

    return {
        "sessions": {
            role: [
                {"key": make_session(user), "org": code, "user": user.pk}
                for code in LLR
                for user in people[code, role]
            ]
            for role in ("reader", "finance", "clinical", "pmo")
        },
        "read": list(visible.values_list("pk", flat=True)),
        "review": {code: pool(code, SchemeState.CONFIRM_AND_CHALLENGE) for code in LLR},
        "start": {code: pool(code, SchemeState.APPROVED) for code in LLR},
        "years": [{"id": y.pk, "label": y.label} for y in years],
        "organisations": llr,
    }
