"""Load the demo: the LLR system, one user per role per organisation, and 36 schemes over
last year, this year and next, counted from today (demo.data.start_years).

Every scheme reaches its state through the services users drive (the PID, confirm and
challenge, the QIA's self-assessment, panel and sign-off, delivery), so its history is real.
Running it again creates nothing new; it only resets every demo password.
"""

from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone
from django_fsm_log.models import StateLog

from demo.builder import Builder
from demo.carried import add_carried
from demo.data import (
    AREAS_OF_SPEND,
    EMAIL_DOMAIN,
    GROUPS,
    LAST,
    NEXT,
    ORGANISATIONS,
    PEOPLE,
    PROGRAMME_AREAS,
    SCHEMES,
    SYSTEM,
    TARGETS,
    THIS,
    S,
    start_years,
)
from demo.deputies import add_deputy
from demo.opportunities import add_opportunities
from demo.routes import add_route_rules
from governance.delivery import schedule
from governance.models import (
    AreaOfSpend,
    FinancialYear,
    MonthlyReturn,
    Organisation,
    ProgrammeArea,
    QippTarget,
    Review,
    Scheme,
    System,
    User,
)
from notifications.models import OutboxEmail
from qia.models import QiaVersion


class Command(BaseCommand):
    help = "Load the demo system, people and schemes. Safe to run again: it creates nothing twice."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password", default="qipp-demo", help="password of every demo user and of admin"
        )

    def handle(self, *args, password: str, **options):
        with transaction.atomic():
            last_mail = OutboxEmail.objects.aggregate(last=Max("pk"))["last"] or 0
            ref = self.reference_data()
            users = self.people(ref["orgs"], password)
            add_route_rules(ref)
            created = 0
            for index, spec in enumerate(SCHEMES):
                exists = Scheme.objects.filter(
                    organisation=ref["orgs"][spec.org],
                    financial_year=ref["years"][spec.year],
                    title=spec.title,
                ).exists()
                if not exists:  # a scheme that exists is left exactly as it is
                    Builder(spec, index, ref, users).build()
                    created += 1
            add_opportunities(ref, users)
            add_carried(ref, users)
            add_deputy(ref, users)
            # The demo's past is not news: its users keep their in-app notifications, but
            # nobody is mailed about it (and its addresses are made up).
            OutboxEmail.objects.filter(pk__gt=last_mail).delete()
        self.report(ref["years"], users, password, created)

    # --- reference data ---

    def reference_data(self) -> dict:
        code, name = SYSTEM
        system, _ = System.objects.get_or_create(code=code, defaults={"name": name})
        orgs = {
            code: Organisation.objects.get_or_create(
                code=code, defaults={"name": name, "system": system}
            )[0]
            for code, name in ORGANISATIONS.items()
        }
        years = {
            offset: FinancialYear.objects.get_or_create(start_year=start_year)[0]
            for offset, start_year in start_years(timezone.localdate()).items()
        }
        for (code, year), (requirement, allocation) in TARGETS.items():
            QippTarget.objects.get_or_create(
                organisation=orgs[code],
                financial_year=years[year],
                defaults={"requirement": Decimal(requirement), "allocation": Decimal(allocation)},
            )
        return {
            "orgs": orgs,
            "years": years,
            "areas": {n: ProgrammeArea.objects.get_or_create(name=n)[0] for n in PROGRAMME_AREAS},
            "spend": {n: AreaOfSpend.objects.get_or_create(name=n)[0] for n in AREAS_OF_SPEND},
        }

    # --- people ---

    def people(self, orgs: dict, password: str) -> dict[str, User]:
        groups = {g.name: g for g in Group.objects.filter(name__in=GROUPS.values())}
        hashed = make_password(password)  # hashed once: hashing 37 times would be slow
        users = {}
        for code, org in orgs.items():
            for slug, (first, last, profession, job_title) in PEOPLE[code].items():
                username = f"{code.lower()}-{slug}"
                # the demo people are as written here, whatever was edited since
                user, _ = User.objects.update_or_create(
                    username=username,
                    defaults={
                        "first_name": first,
                        "last_name": last,
                        "email": f"{username}@{EMAIL_DOMAIN}",
                        "profession": profession,
                        "job_title": job_title,
                    },
                )
                User.objects.filter(pk=user.pk).update(password=hashed)
                if slug in GROUPS:
                    user.groups.add(groups[GROUPS[slug]])
                user.organisations.add(org)
                users[username] = user
        admin, _ = User.objects.get_or_create(
            username="admin",
            defaults={"first_name": "Demo", "last_name": "Administrator"},
        )
        User.objects.filter(pk=admin.pk).update(
            password=hashed,
            email=f"admin@{EMAIL_DOMAIN}",
            is_staff=True,
            is_superuser=True,
            is_active=True,
        )
        users["admin"] = admin
        return users

    # --- the summary ---

    def report(self, years: dict, users: dict, password: str, created: int) -> None:
        out = self.stdout
        this = years[THIS]
        returned = schedule.month_label(this, schedule.last_month(this, timezone.localdate()))
        out.write(
            f"Demo years: {years[LAST].label} (closed), {this.label} (in delivery, returns up "
            f"to {returned}) and {years[NEXT].label} (being planned)."
        )
        states = dict(Scheme.objects.order_by().values_list("state").annotate(Count("id")))
        counts = {
            "users": User.objects.count(),
            "organisations": Organisation.objects.count(),
            "financial years": FinancialYear.objects.count(),
            "programme areas": ProgrammeArea.objects.count(),
            "areas of spend": AreaOfSpend.objects.count(),
            "QIPP targets": QippTarget.objects.count(),
            "schemes": Scheme.objects.count(),
            "reviews": Review.objects.count(),
            "QIA versions": QiaVersion.objects.count(),
            "transition log entries": StateLog.objects.count(),
            "monthly returns": MonthlyReturn.objects.count(),
        }
        out.write(f"Schemes created by this run: {created}.")
        out.write("In the database:")
        for label, n in counts.items():
            out.write(f"  {label:<24} {n:>5}")
        out.write("Schemes by state:")
        for value, label in S.choices:
            out.write(f"  {label:<24} {states.get(value, 0):>5}")
        out.write("")
        out.write(f"Demo users, each with the password: {password}")
        out.write(f"  {'username':<22} {'name':<22} {'profession':<22} role")
        demo = User.objects.filter(pk__in=[u.pk for u in users.values()]).prefetch_related("groups")
        for user in sorted(demo, key=lambda u: u.username):
            role = ", ".join(sorted(group.name for group in user.groups.all()))
            if user.is_superuser:
                role = "superuser (admin site)"
            out.write(
                f"  {user.username:<22} {user.get_full_name():<22} "
                f"{user.get_profession_display():<22} {role or 'none: enters the returns'}"
            )
        out.write(self.style.SUCCESS(f"Sign in as any user above with the password {password}."))
