"""Load the demo: the LLR system, one user per role per organisation, and 30 schemes.

Every scheme reaches its state through the services users drive (the PID, confirm and
challenge, the QIA's self-assessment, panel and sign-off, delivery), so its history is real.
Running it again creates nothing new; it only resets every demo password.
"""

from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Count, Max
from django_fsm_log.models import StateLog

from governance import roles, services
from governance.delivery import lifecycle, monthly_returns
from governance.models import (
    PLAN_FIELDS,
    AreaOfSpend,
    FinancialYear,
    MonthlyReturn,
    Organisation,
    ProgrammeArea,
    QippTarget,
    Review,
    Scheme,
    SchemeState,
    System,
    User,
)
from notifications.models import OutboxEmail
from qia import services as qia
from qia.models import Heading, QiaVersion
from qia.policy import newest_version

S = SchemeState

SYSTEM = ("LLR", "Leicester, Leicestershire and Rutland")
ORGANISATIONS = {
    "ELR": "East Leicestershire and Rutland CCG",
    "WL": "West Leicestershire CCG",
    "LC": "Leicester City CCG",
}
YEARS = [2018, 2019, 2020]
PROGRAMME_AREAS = [
    "CHC",
    "Community",
    "Medicines Management",
    "Mental Health/LD",
    "Planned Care",
    "Primary Care",
    "Urgent Care",
    "Corporate",
    "Finance",
]
AREAS_OF_SPEND = [
    "Elective Care",
    "Emergency Care",
    "Optimising the Use of Medicines",
    "Continuing Healthcare",
    "Discharge Programme",
    "Community Healthcare",
    "Primary Care",
    "Mental Health",
    "Commissioning System Admin",
]
# (organisation, start year) -> (QIPP requirement, allocation) in pounds.
# ELR's 2019/20 requirement is 6.0% of its allocation, as in its committee papers.
TARGETS = {
    ("ELR", 2018): ("17412000", "316800000"),
    ("ELR", 2019): ("19647000", "327450000"),
    ("ELR", 2020): ("20880000", "340000000"),
    ("WL", 2018): ("18950000", "430000000"),
    ("WL", 2019): ("20498000", "445600000"),
    ("WL", 2020): ("21300000", "463000000"),
    ("LC", 2018): ("16200000", "420000000"),
    ("LC", 2019): ("18230000", "438300000"),
    ("LC", 2020): ("19100000", "455000000"),
}

# Role slug -> group. The second panel member sits in the same group as the first.
GROUPS = {slug: name for name, slug in roles.ALL.items()} | {"panel-member-2": roles.PANEL_MEMBER}

# Organisation -> role slug -> (first name, last name, profession, job title).
# In each organisation the quality lead and the two panel members are of three professions,
# so a demo panel is multi-professional.
PEOPLE = {
    "ELR": {
        "project-lead": ("Priya", "Patel", "management", "Transformation Project Lead"),
        "sro": ("Richard", "Moss", "management", "Director of Strategy and Transformation"),
        "finance-reviewer": ("Fiona", "Hughes", "finance", "Head of Financial Planning"),
        "clinical-reviewer": ("Kwame", "Mensah", "medical", "GP Clinical Lead, Planned Care"),
        "quality-lead": ("Helen", "Baxter", "quality", "Head of Quality and Patient Safety"),
        "panel-member": ("Grace", "Okafor", "nursing", "Senior Quality Nurse"),
        "panel-member-2": ("Tom", "Whitfield", "medicines", "Medicines Optimisation Pharmacist"),
        "pmo": ("Sam", "Khan", "management", "PMO Manager"),
        "chief-nurse": ("Caroline", "Trevelyan", "nursing", "Chief Nurse and Quality Officer"),
        "clinical-chair": ("Andrew", "Lyle", "medical", "Clinical Chair"),
        "qag-member": ("Margaret", "Dunn", "contracting", "Head of Contracting"),
        "viewer": ("Ian", "Fletcher", "other", "Scrutiny Committee Member"),
    },
    "WL": {
        "project-lead": ("Daniel", "Roberts", "management", "Senior Commissioning Manager"),
        "sro": ("Angela", "Mistry", "management", "Director of Commissioning"),
        "finance-reviewer": ("Mark", "Jennings", "finance", "Deputy Chief Finance Officer"),
        "clinical-reviewer": ("Sarah", "Coleman", "medical", "GP Clinical Lead, Community"),
        "quality-lead": ("Joanne", "Price", "quality", "Head of Quality Assurance"),
        "panel-member": ("Rebecca", "Holt", "nursing", "Designated Nurse, Safeguarding"),
        "panel-member-2": ("Oliver", "Grant", "public_health", "Consultant in Public Health"),
        "pmo": ("Lucy", "Barker", "management", "Programme Office Lead"),
        "chief-nurse": ("Nicola", "Stevens", "nursing", "Chief Nurse and Quality Officer"),
        "clinical-chair": ("Rajesh", "Sharma", "medical", "Clinical Chair"),
        "qag-member": ("Peter", "Wainwright", "finance", "Chief Finance Officer"),
        "viewer": ("Janet", "Cole", "other", "Lay Member, Patient and Public Involvement"),
    },
    "LC": {
        "project-lead": ("Aisha", "Rahman", "management", "Commissioning Project Manager"),
        "sro": ("Paul", "Edwards", "management", "Chief Strategy Officer"),
        "finance-reviewer": ("Gemma", "Walsh", "finance", "Head of Commissioning Finance"),
        "clinical-reviewer": ("Imran", "Hussain", "medical", "GP Clinical Lead, Urgent Care"),
        "quality-lead": ("Claire", "Norton", "quality", "Head of Quality and Safety"),
        "panel-member": ("Deborah", "Lewis", "nursing", "Quality Lead Nurse, Care Homes"),
        "panel-member-2": ("Harjit", "Sandhu", "medicines", "Head of Medicines Optimisation"),
        "pmo": ("Kieran", "O'Brien", "management", "PMO Analyst"),
        "chief-nurse": ("Susan", "Fairbrother", "nursing", "Chief Nurse and Quality Officer"),
        "clinical-chair": ("Elizabeth", "Carter", "medical", "Clinical Chair"),
        "qag-member": ("Neil", "Chambers", "contracting", "Deputy Director of Contracting"),
        "viewer": ("Trevor", "Ashby", "other", "Councillor, Health Scrutiny Committee"),
    },
}


@dataclass(frozen=True)
class Spec:
    """One demo scheme and the path it takes to its state."""

    org: str
    year: int
    title: str
    programme_area: str
    area_of_spend: str
    monthly: int  # the typical monthly saving in pounds; the profile shapes the year
    state: str
    description: str
    scheme_type: str = "transactional"
    recovery: bool = False
    returned_by: str = ""  # "finance" or "clinical": returned for revision once
    challenge: str = ""  # that reviewer's comment
    answer: str = ""  # the project lead's response on resubmission
    first_review: str = ""  # in confirm and challenge with this review already recorded
    rejected_by: str = ""  # "finance", "clinical" or "panel"
    withdrawn_at: str = ""  # withdrawn by the SRO from confirm and challenge or the QIA panel
    half_signed: bool = False  # awaiting sign-off with the Chief Nurse's signature given
    risk: tuple[int, int] = (2, 3)  # the QIA's one negative heading: consequence, likelihood
    concern: str = ""  # and why it is negative
    note: str = ""  # why it was rejected, withdrawn or stopped
    delivery: Decimal = Decimal("1.02")  # actual savings as a share of plan
    lag: str = ""  # the monthly commentary while behind plan
    months: int = 12  # months of returns (stopped schemes stop early)


# fmt: off
SCHEMES = [
    # --- East Leicestershire and Rutland ---
    Spec("ELR", 2020, "Community nursing redesign", "Community", "Community Healthcare", 38000, S.DRAFT,
         "District nurses, community matrons and the heart failure and respiratory teams form three locality teams aligned to primary care networks, with a single point of access. Saves through fewer duplicate visits and fewer avoidable admissions of housebound patients with long-term conditions.",
         scheme_type="transformational"),
    Spec("ELR", 2020, "Urgent care streaming at the front door", "Urgent Care", "Emergency Care", 42000, S.CONFIRM_AND_CHALLENGE,
         "GP-led streaming at the emergency department front door directs walk-in patients with minor illness to the co-located urgent treatment centre, paid at the UTC rate rather than as a type 1 A&E attendance.",
         scheme_type="transformational", first_review="finance"),
    Spec("ELR", 2020, "MSK pathway redesign", "Planned Care", "Elective Care", 87500, S.CONFIRM_AND_CHALLENGE,
         "A physiotherapy-led clinical triage service, with GP specialist support, for hip, knee, back and shoulder referrals, so that only patients likely to need surgery see an orthopaedic surgeon. Reduces first outpatient attendances and referrals that do not convert to surgery.",
         scheme_type="transformational", returned_by="finance",
         challenge="Show the baseline activity and the tariff behind months 7-12, and how the cost of the triage service is netted off.",
         answer="Baseline activity (2019/20 SUS data) and tariff added as appendix B; the triage contract cost is netted off each month from month 4."),
    Spec("ELR", 2020, "Out-of-area mental health placements", "Mental Health/LD", "Mental Health", 56000, S.QIA_PANEL,
         "Every adult acute and rehabilitation placement outside LLR is reviewed with the partnership trust, bringing patients back to local beds or community support where clinically appropriate, with a step-down pathway so that new out-of-area placements become the exception.",
         scheme_type="transformational", risk=(3, 2),
         concern="Moving a patient from a settled placement risks relapse: each move follows a clinical review and a transition plan."),
    Spec("ELR", 2020, "Wound care formulary", "Medicines Management", "Optimising the Use of Medicines", 21000, S.AWAITING_SIGN_OFF,
         "A single LLR wound care formulary, with dressings supplied directly to community nurses and practices instead of on prescription through community pharmacy. Saves through product standardisation and less waste."),
    Spec("ELR", 2020, "Discharge to assess", "Community", "Discharge Programme", 64000, S.APPROVED,
         "Patients who are medically fit go home, or to an interim bed, for assessment of their long-term needs instead of waiting in an acute bed. Saves excess bed days and reduces long-term placements made straight from hospital.",
         scheme_type="transformational"),
    Spec("ELR", 2019, "Outpatient follow-up reduction", "Planned Care", "Elective Care", 102000, S.IN_DELIVERY,
         "Patient-initiated follow-up and virtual review in dermatology, ophthalmology, ENT and rheumatology, measured against the 2018/19 follow-up to new ratios. Saves the cost of follow-up attendances that do not change a patient's care.",
         delivery=Decimal("1.03")),
    Spec("ELR", 2019, "CHC care package review", "CHC", "Continuing Healthcare", 165000, S.IN_DELIVERY,
         "Review of every continuing healthcare package over £1,000 a week against assessed need, with a brokerage function to place patients in care homes at the LLR framework rate.",
         delivery=Decimal("0.70"), risk=(3, 3),
         concern="Reassessment may reduce some packages: patients and families may find the change distressing, and some will appeal.",
         lag="Behind plan: 140 of 310 package reviews done. The nurse assessor vacancy is not yet filled and two providers dispute the revised rates."),
    Spec("ELR", 2019, "Medicines optimisation programme", "Medicines Management", "Optimising the Use of Medicines", 264000, S.IN_DELIVERY,
         "Practice-based pharmacists support switches to cost-effective formulary choices, a repeat prescription ordering hub and structured medication reviews in care homes. Savings measured against ePACT2 prescribing data.",
         delivery=Decimal("1.05")),
    Spec("ELR", 2019, "Running cost reduction", "Corporate", "Commissioning System Admin", 112000, S.COMPLETED,
         "Shared corporate services across the three LLR CCGs (finance, HR, communications and business intelligence), the end of two office leases and a vacancy control panel.",
         delivery=Decimal("1.00")),
    Spec("ELR", 2018, "Procedures of limited clinical value", "Planned Care", "Elective Care", 14000, S.STOPPED,
         "Added in-year to close the gap: prior approval for procedures of limited clinical value (varicose veins, carpal tunnel release, grommets), with requests checked against the LLR policy before referral.",
         recovery=True, delivery=Decimal("0.40"), months=9,
         lag="Behind plan: most requests meet the policy criteria, so few procedures are avoided.",
         note="Prior approval duplicates the provider's own checks and the saving is not materialising. Replace it with a recovery scheme on consultant-to-consultant referrals."),
    Spec("ELR", 2019, "Private ambulance contract", "Urgent Care", "Emergency Care", 30000, S.REJECTED,
         "Move non-emergency inter-hospital and discharge transport from the current provider to a private ambulance operator at a lower price per journey.",
         rejected_by="clinical",
         note="The proposed response times are below the current provider's and the saving depends on fewer crews at night. The risk to patients outweighs the saving."),
    # --- West Leicestershire ---
    Spec("WL", 2020, "Primary care prescribing hubs", "Primary Care", "Primary Care", 46000, S.DRAFT,
         "Repeat prescription requests for the practices of two primary care networks are handled by a hub of pharmacy technicians, reducing over-ordering and stockpiling.",
         scheme_type="transformational"),
    Spec("WL", 2020, "Falls prevention service", "Community", "Community Healthcare", 25000, S.CONFIRM_AND_CHALLENGE,
         "Strength and balance classes, home hazard assessment and medication review for people over 65 who have fallen or are at high risk, to reduce fall-related ambulance conveyances and hip fracture admissions.",
         scheme_type="transformational"),
    Spec("WL", 2020, "Learning disability placements review", "Mental Health/LD", "Mental Health", 50500, S.QIA_PANEL,
         "A joint review with the county council of high-cost placements for adults with a learning disability or autism, moving people to supported living near home where that meets their needs.",
         scheme_type="transformational"),
    Spec("WL", 2020, "Stroke rehabilitation in the community", "Community", "Community Healthcare", 33000, S.AWAITING_SIGN_OFF,
         "Early supported discharge for stroke patients with mild to moderate disability: rehabilitation at home from a specialist community team, shortening stays on the acute stroke unit.",
         scheme_type="transformational", half_signed=True),
    Spec("WL", 2019, "Medicines waste reduction", "Medicines Management", "Optimising the Use of Medicines", 177500, S.IN_DELIVERY,
         "Practices stop community pharmacies ordering repeat prescriptions on patients' behalf; patients order what they need. Targets the waste of unused medicines returned to pharmacies.",
         delivery=Decimal("0.93"),
         lag="Slightly behind plan: the new ordering arrangements started late in three practices."),
    Spec("WL", 2019, "Non-acute contract review", "Finance", "Community Healthcare", 44600, S.IN_DELIVERY,
         "Non-acute contracts (community hospitals, hospice, voluntary sector grants) re-based on the activity delivered in 2018/19, with a 2% efficiency applied at renewal.",
         delivery=Decimal("1.00")),
    Spec("WL", 2019, "Balance sheet and reserves review", "Finance", "Commissioning System Admin", 262000, S.IN_DELIVERY,
         "Recovery action: release of accruals and provisions no longer needed, agreed with the external auditors. Non-recurrent: it closes the in-year gap but does not carry into 2020/21.",
         recovery=True, delivery=Decimal("1.00")),
    Spec("WL", 2018, "Enhanced services review", "Primary Care", "Primary Care", 43000, S.COMPLETED,
         "Local enhanced services paid to practices are reviewed: those now covered by the core contract stop, and the rest are re-specified with outcome measures.",
         delivery=Decimal("1.01")),
    Spec("WL", 2020, "Diabetes structured education", "Planned Care", "Elective Care", 18000, S.WITHDRAWN,
         "Digital structured education for people with type 1 and type 2 diabetes, to improve control and reduce outpatient attendances and admissions for complications.",
         scheme_type="transformational", withdrawn_at=S.CONFIRM_AND_CHALLENGE,
         note="Superseded: the LLR diabetes programme now commissions structured education for all three CCGs."),
    Spec("WL", 2019, "Closure of a minor injuries unit", "Urgent Care", "Emergency Care", 52000, S.REJECTED,
         "Close the minor injuries unit at a community hospital (open 8am to 8pm) and redirect patients to the urgent treatment centre and the GP extended access hubs.",
         rejected_by="panel", risk=(4, 4),
         concern="Rural patients lose local minor injury care; the nearest alternative is 14 miles away with no direct public transport.",
         note="The nearest alternative is 14 miles away with no direct public transport: the panel judged the impact on access and patient experience for rural patients detrimental."),
    # --- Leicester City ---
    Spec("LC", 2020, "Frailty virtual ward", "Urgent Care", "Emergency Care", 61000, S.DRAFT,
         "A consultant-led virtual ward for frail older people: remote monitoring and daily review at home by the community frailty team, instead of an admission or to shorten one.",
         scheme_type="transformational", returned_by="clinical",
         challenge="The plan assumes 30 avoided admissions a month from April. Show the evidence for that rate, and a ramp-up while the team is recruited."),
    Spec("LC", 2020, "Respiratory inhaler switch", "Medicines Management", "Optimising the Use of Medicines", 39000, S.CONFIRM_AND_CHALLENGE,
         "Review of patients with COPD and asthma on high-cost inhalers, switching where clinically appropriate to formulary inhalers of lower cost and carbon footprint, with an inhaler technique check at each review.",
         first_review="clinical"),
    Spec("LC", 2020, "Dementia care navigators", "Mental Health/LD", "Mental Health", 27000, S.QIA_PANEL,
         "Navigators attached to primary care networks support people with dementia and their carers after diagnosis, preventing the crises that lead to emergency admission or early care home placement.",
         scheme_type="transformational"),
    Spec("LC", 2020, "Hospital discharge hub", "Community", "Discharge Programme", 58000, S.APPROVED,
         "One discharge hub with social care, community health and the voluntary sector takes referrals from the wards by 11am, so that patients leave on the day they are medically fit.",
         scheme_type="transformational"),
    Spec("LC", 2019, "Elective referral management", "Planned Care", "Elective Care", 95000, S.IN_DELIVERY,
         "Advice and guidance before referral in cardiology, gastroenterology and gynaecology, and peer review of referrals in the practices with the highest referral rates.",
         delivery=Decimal("0.97"),
         lag="Slightly behind plan while practices took up advice and guidance; catching up."),
    Spec("LC", 2019, "CHC fast-track review", "CHC", "Continuing Healthcare", 72000, S.STOPPED,
         "Fast-track (end of life) continuing healthcare packages reviewed at 12 weeks, moving patients no longer in the terminal phase to a full assessment.",
         delivery=Decimal("0.55"), months=8, risk=(3, 3),
         concern="Reviewing care at the end of life may distress patients and their families.",
         lag="Behind plan: few fast-track packages are still in place at 12 weeks, so there is little to review.",
         note="The saving is not materialising and the reviews distressed families at the end of a patient's life. Stopped on quality and delivery grounds."),
    Spec("LC", 2019, "Estates rationalisation", "Corporate", "Commissioning System Admin", 48000, S.COMPLETED,
         "Two leased health centre floors are given up and their clinics consolidated into LIFT buildings with spare capacity, reducing void and under-used space charges.",
         delivery=Decimal("1.00")),
    Spec("LC", 2020, "Community equipment tender", "Community", "Community Healthcare", 15000, S.WITHDRAWN,
         "Re-tender the CCG's share of the integrated community equipment service, with a recycling target of 85% for returned equipment.",
         withdrawn_at=S.QIA_PANEL,
         note="The county council is re-procuring the joint equipment service for 2021/22; the saving will be sought through that tender instead."),
]
# fmt: on

# Savings build through the year as a change beds in.
PROFILE = [Decimal(x) for x in "0.6 0.7 0.8 0.9 1 1 1.1 1.1 1.2 1.2 1.2 1.2".split()]
SUPPORTED = {
    "finance": [
        "Savings are evidenced against the baseline and phased realistically.",
        "Activity and price assumptions agreed with the contracting team.",
        "The plan is net of the investment needed; the figures reconcile to the ledger.",
    ],
    "clinical": [
        "Clinically sound; the pathway has the support of local GPs and consultants.",
        "The evidence base is good and safety-netting is in place for patients who deteriorate.",
        "Supported: patients keep access to specialist advice throughout.",
    ],
}
DEFAULT_ANSWER = "Revised as asked: the PID now sets out the evidence and the phasing."
DEFAULT_CONCERN = (
    "Patients used to the current service will see it change; some may find the change "
    "confusing or unwelcome at first."
)
EMAIL_DOMAIN = "example.nhs.uk"


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
            # The demo's past is not news: its users keep their in-app notifications, but
            # nobody is mailed about it (and its addresses are made up).
            OutboxEmail.objects.filter(pk__gt=last_mail).delete()
        self.report(users, password, created)

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
        years = {y: FinancialYear.objects.get_or_create(start_year=y)[0] for y in YEARS}
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

    def report(self, users: dict, password: str, created: int) -> None:
        out = self.stdout
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
            out.write(
                f"  {user.username:<22} {user.get_full_name():<22} "
                f"{user.get_profession_display():<22} {role or 'superuser (admin site)'}"
            )
        out.write(self.style.SUCCESS(f"Sign in as any user above with the password {password}."))


class Builder:
    """Takes one demo scheme from a new PID to its state, as its organisation's people."""

    def __init__(self, spec: Spec, index: int, ref: dict, users: dict):
        self.spec = spec
        self.index = index  # varies the reviewers' wording and the order of the two reviews
        self.ref = ref
        self.users = users
        self.scheme: Scheme | None = None

    def who(self, slug: str) -> User:
        return self.users[f"{self.spec.org.lower()}-{slug}"]

    def build(self) -> None:
        spec = self.spec
        self.create()
        if spec.state == S.DRAFT and not spec.returned_by:
            return
        self.submit()
        if spec.returned_by:
            self.review(spec.returned_by, "revise", spec.challenge)
            if spec.state == S.DRAFT:
                return  # waiting for the project lead to answer
            self.resubmit()
        if spec.state == S.CONFIRM_AND_CHALLENGE:
            if spec.first_review:
                self.review(spec.first_review, "supported")
            return
        if spec.withdrawn_at == S.CONFIRM_AND_CHALLENGE:
            self.withdraw(self.who("sro"))
            return
        if spec.rejected_by in ("finance", "clinical"):
            other = "clinical" if spec.rejected_by == "finance" else "finance"
            self.review(other, "supported")
            self.review(spec.rejected_by, "not_supported", f"Not supported. {spec.note}")
            return
        # both reviews supported, in either order
        first, second = ("finance", "clinical") if self.index % 2 else ("clinical", "finance")
        self.review(first, "supported")
        self.review(second, "supported")
        self.panel()

    def panel(self) -> None:
        """The QIA panel scores, agrees (or dismisses), and the two signatories sign off."""
        spec = self.spec
        version = newest_version(self.scheme)
        if spec.state == S.QIA_PANEL:
            # one member has scored; the others' scores are still to come
            self.score(version, "panel-member", shift=1)
            return
        if spec.withdrawn_at == S.QIA_PANEL:
            self.withdraw(self.who("sro"))
            return
        self.score(version, "quality-lead")
        self.score(version, "panel-member", shift=1)
        self.score(version, "panel-member-2")
        if spec.rejected_by == "panel":
            qia.panel_close(
                version_id=version.pk,
                by=self.who("quality-lead"),
                decision="dismiss",
                reason=spec.note,
            )
            return
        qia.panel_agree(
            version_id=version.pk,
            by=self.who("quality-lead"),
            headings=self.assessment(),
            mitigations=self.mitigations(),
        )
        if spec.state == S.AWAITING_SIGN_OFF and not spec.half_signed:
            return
        self.sign_off(version, "chief-nurse", "chief_nurse")
        if spec.state == S.AWAITING_SIGN_OFF:
            return
        self.sign_off(version, "clinical-chair", "clinical_chair")
        if spec.state == S.APPROVED:
            return
        self.deliver()

    def deliver(self) -> None:
        spec = self.spec
        lifecycle.scheme_start_delivery(
            scheme_id=self.scheme.pk,
            by=self.who("pmo"),
            expected_version=None,
            comment="Delivery starts; monthly returns from the finance lead.",
        )
        self.returns()
        if spec.state == S.COMPLETED:
            plan = self.scheme.annual_plan
            saved = sum(self.scheme.returns.values_list("actual", flat=True), Decimal(0))
            lifecycle.scheme_complete(
                scheme_id=self.scheme.pk,
                by=self.who("pmo"),
                expected_version=None,
                delivered=f"Saved £{saved:,.0f} against a plan of £{plan:,.0f}; recurrent.",
                lessons="Early engagement with practices and providers made the difference.",
            )
        elif spec.state == S.STOPPED:
            lifecycle.scheme_stop(
                scheme_id=self.scheme.pk,
                by=self.who("qag-member"),
                expected_version=None,
                decision=spec.note,
            )

    # --- the steps ---

    def create(self) -> None:
        spec = self.spec
        year = self.ref["years"][spec.year]
        plan = [(Decimal(spec.monthly) * factor).quantize(Decimal("1")) for factor in PROFILE]
        if spec.recovery:  # added in-year: saves from month 6 only
            plan = [amount if month >= 6 else Decimal(0) for month, amount in enumerate(plan, 1)]
        self.scheme = services.scheme_create(
            by=self.who("project-lead"),
            data={
                "title": spec.title,
                "description": spec.description,
                "organisation": self.ref["orgs"][spec.org],
                "financial_year": year,
                "programme_area": self.ref["areas"][spec.programme_area],
                "area_of_spend": self.ref["spend"][spec.area_of_spend],
                "scheme_type": spec.scheme_type,
                "is_recovery": spec.recovery,
                "project_lead": self.who("project-lead"),
                "sro": self.who("sro"),
                # the finance lead enters the monthly returns
                "finance_lead": self.who("finance-reviewer"),
                "start_date": year.month_start(6 if spec.recovery else 1),
                **dict(zip(PLAN_FIELDS, plan, strict=True)),
            },
        )
        qia.self_assessment_save(
            scheme_id=self.scheme.pk,
            by=self.who("project-lead"),
            headings=self.assessment(),
            equality_impact="no",
            equality_rationale="The change applies to every patient on the pathway alike; "
            "access for people with a protected characteristic is unchanged.",
            mitigations=self.mitigations(),
        )

    def submit(self) -> None:
        services.scheme_submit(
            scheme_id=self.scheme.pk,
            by=self.who("project-lead"),
            expected_version=None,
            comment="Submitted for confirm and challenge.",
        )

    def resubmit(self) -> None:
        scheme = Scheme.objects.get(pk=self.scheme.pk)
        answers = {
            review.pk: self.spec.answer or DEFAULT_ANSWER
            for review in services.reviews_awaiting_response(scheme)
        }
        services.scheme_submit(
            scheme_id=scheme.pk,
            by=self.who("project-lead"),
            expected_version=None,
            comment="Resubmitted with the reviewer's points answered.",
            responses=answers,
        )

    def review(self, kind: str, decision: str, comment: str = "") -> None:
        pool = SUPPORTED[kind]
        services.scheme_review(
            scheme_id=self.scheme.pk,
            by=self.who(f"{kind}-reviewer"),
            kind=kind,
            decision=decision,
            comment=comment or pool[self.index % len(pool)],
            expected_version=None,
        )

    def withdraw(self, by: User) -> None:
        services.scheme_withdraw(
            scheme_id=self.scheme.pk, by=by, reason=self.spec.note, expected_version=None
        )

    def mitigations(self) -> list[dict]:
        """The action against the one negative heading (patient experience), with its owner
        and due date, as a complete self-assessment and an agreed QIA need."""
        return [
            {
                "heading": Heading.PATIENT_EXPERIENCE,
                "description": "Patients are told of the change by letter and by their GP; "
                "their feedback is reviewed monthly at the quality meeting.",
                "owner": self.who("project-lead").get_full_name(),
                "due_date": self.ref["years"][self.spec.year].month_start(3),
            }
        ]

    def assessment(self, shift: int = 0) -> dict[str, dict]:
        """The QIA's six headings: one negative (scored), the rest none or positive.

        `shift` moves the likelihood, for a panel member who rates the risk a little higher.
        """
        consequence, likelihood = self.spec.risk
        return {
            Heading.PATIENT_SAFETY: {
                "impact": "none",
                "rationale": "The clinical pathway and its safety-netting are unchanged.",
            },
            Heading.CLINICAL_EFFECTIVENESS: {
                "impact": "positive",
                "rationale": "Care follows the evidence-based pathway more consistently.",
            },
            Heading.PATIENT_EXPERIENCE: {
                "impact": "negative",
                "consequence": consequence,
                "likelihood": min(5, likelihood + shift),
                "rationale": self.spec.concern or DEFAULT_CONCERN,
            },
            Heading.ORGANISATIONAL_REPUTATION: {
                "impact": "none",
                "rationale": "Discussed with Healthwatch; no concerns raised.",
            },
            Heading.EVIDENCE_BASE: {
                "impact": "positive",
                "rationale": "Follows NICE guidance and the RightCare benchmarks.",
            },
            Heading.RESOURCES: {
                "impact": "positive",
                "rationale": "Releases the saving in the plan without new posts.",
            },
        }

    def score(self, version, slug: str, shift: int = 0) -> None:
        qia.panel_score_record(
            version_id=version.pk, by=self.who(slug), headings=self.assessment(shift)
        )

    def sign_off(self, version, slug: str, capacity: str) -> None:
        qia.sign_off_record(
            version_id=version.pk,
            by=self.who(slug),
            decision="approved",
            capacity=capacity,
            comment="Mitigations are proportionate to the risk; approved.",
        )

    def returns(self) -> None:
        """Monthly returns from the first planned month, entered by the finance lead.

        The PMO has assured all but the latest two, so there is still assurance to do.
        """
        spec = self.spec
        scheme = Scheme.objects.get(pk=self.scheme.pk)
        plan = scheme.plan
        first = next(m for m, amount in enumerate(plan, 1) if amount)
        saved = Decimal(0)
        with rules_paused() as hooks:
            for month in range(first, spec.months + 1):
                # a little noise, -2% to +2%, so the months do not all look alike
                wobble = Decimal(98 + (month * 7) % 5) / 100
                actual = (plan[month - 1] * spec.delivery * wobble).quantize(Decimal("1"))
                saved += actual
                # the forecast: what is saved so far, plus the rest of the plan at this pace
                rest = sum(plan[month:], Decimal(0)) * spec.delivery
                latest = monthly_returns.return_save(
                    scheme_id=scheme.pk,
                    month=month,
                    by=self.who("finance-reviewer"),
                    actual=actual,
                    forecast_outturn=saved + rest.quantize(Decimal("1")),
                    commentary=spec.lag if spec.delivery < 1 else "On plan.",
                ).monthly_return
                if spec.state != S.IN_DELIVERY or month <= spec.months - 2:
                    monthly_returns.return_assure(
                        scheme_id=scheme.pk, month=month, by=self.who("pmo"), value=actual
                    )
        if spec.state == S.IN_DELIVERY:
            # the rules see the scheme as it stands, as if its latest return were just saved
            for hook in hooks:
                hook(monthly_return=latest, by=self.who("finance-reviewer"), created=False)


@contextmanager
def rules_paused():
    """Hold back the rules that react to a saved return (escalations), yielding them.

    Entered one by one today, a year of past returns would look, after each, as if the later
    months were overdue: every scheme would be escalated and at once resolved.
    """
    hooks = list(monthly_returns.RETURN_SAVED_HOOKS)
    monthly_returns.RETURN_SAVED_HOOKS.clear()
    try:
        yield hooks
    finally:
        monthly_returns.RETURN_SAVED_HOOKS[:] = hooks
