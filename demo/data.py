"""What the demo holds: the LLR system and its organisations, its three financial years
(last year, this year and next, around today), programme areas, areas of spend and targets,
one person per role per organisation, and the 36 schemes, each with its year, the state it
reaches and how it got there."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from governance import roles
from governance.models import (
    SchemeState,
)

S = SchemeState

SYSTEM = ("LLR", "Leicester, Leicestershire and Rutland")
ORGANISATIONS = {
    "ELR": "East Leicestershire and Rutland CCG",
    "WL": "West Leicestershire CCG",
    "LC": "Leicester City CCG",
}
# The demo's years, relative to this year: last year's schemes are closed, this year's are in
# delivery with their returns up to last month, next year's are being planned.
LAST, THIS, NEXT = -1, 0, 1
YEARS = [LAST, THIS, NEXT]


def start_years(today: date) -> dict[int, int]:
    """The first calendar year of each demo year: {LAST: 2025, THIS: 2026, NEXT: 2027} on
    4 December 2026.

    This year is the one last month belongs to, so that it always has a month of returns:
    the financial year containing today, except in April, when no month of the new year has
    ended yet. Then this year is the one just ended (its March returns in, its schemes still
    in delivery), and next year is the one just begun.
    """
    last_month = today.replace(day=1) - timedelta(days=1)
    this = last_month.year if last_month.month >= 4 else last_month.year - 1
    return {offset: this + offset for offset in YEARS}


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
# (organisation, year) -> (QIPP requirement, allocation) in pounds: the CCGs' published
# figures for 2018/19 to 2020/21, given to last year, this year and next. This year's ELR
# requirement is 6.0% of its allocation, as in its 2019/20 committee papers.
TARGETS = {
    ("ELR", LAST): ("17412000", "316800000"),
    ("ELR", THIS): ("19647000", "327450000"),
    ("ELR", NEXT): ("20880000", "340000000"),
    ("WL", LAST): ("18950000", "430000000"),
    ("WL", THIS): ("20498000", "445600000"),
    ("WL", NEXT): ("21300000", "463000000"),
    ("LC", LAST): ("16200000", "420000000"),
    ("LC", THIS): ("18230000", "438300000"),
    ("LC", NEXT): ("19100000", "455000000"),
}

# Role slug -> group. The second panel member sits in the same group as the first.
GROUPS = {slug: name for name, slug in roles.ALL.items()} | {"panel-member-2": roles.PANEL_MEMBER}

# Organisation -> role slug -> (first name, last name, profession, job title).
# In each organisation the quality lead and the two panel members are of three professions,
# so a demo panel is multi-professional. The finance lead (on each scheme's team: enters its
# returns) holds no role: the finance reviewer, who judges the scheme, must be someone else.
PEOPLE = {
    "ELR": {
        "project-lead": ("Priya", "Patel", "management", "Transformation Project Lead"),
        "sro": ("Richard", "Moss", "management", "Director of Strategy and Transformation"),
        "finance-reviewer": ("Fiona", "Hughes", "finance", "Head of Financial Planning"),
        "finance-lead": ("Hannah", "Cross", "finance", "Finance Business Partner"),
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
        "finance-lead": ("Martin", "Doyle", "finance", "Finance Business Partner"),
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
        "finance-lead": ("Zara", "Ahmed", "finance", "Management Accountant"),
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
    year: int  # LAST, THIS or NEXT
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
    scored: tuple[str, ...] = ()  # at the QIA panel: the members who have scored so far
    half_signed: bool = False  # awaiting sign-off with the Chief Nurse's signature given
    risk: tuple[int, int] = (2, 3)  # the QIA's one negative heading: consequence, likelihood
    concern: str = ""  # and why it is negative
    note: str = ""  # why it was rejected, withdrawn or stopped
    delivery: Decimal = Decimal("1.02")  # actual savings as a share of plan
    lag: str = ""  # the monthly commentary while behind plan
    months: int = 12  # months of returns of a past year's scheme (stopped schemes stop early)
    late: bool = False  # in delivery, with the return whose deadline passed last not in
    to_qag: str = ""  # in delivery and off track: the PMO raised its escalation to QAG, saying so
    # what kind of saving: the share of each month's saving that recurs in later years (1 is
    # recurrent, 0 one-off, a share between them mixed), whether it releases cash, and what the
    # scheme costs, once and each year, in pounds
    recurrent: Decimal = Decimal(1)
    cash_releasing: bool = True
    investment_one_off: int = 0
    investment_recurring: int = 0


# fmt: off
SCHEMES = [
    # --- East Leicestershire and Rutland ---
    Spec("ELR", NEXT, "Community nursing redesign", "Community", "Community Healthcare", 38000, S.DRAFT,
         "District nurses, community matrons and the heart failure and respiratory teams form three locality teams aligned to primary care networks, with a single point of access. Saves through fewer duplicate visits and fewer avoidable admissions of housebound patients with long-term conditions.",
         scheme_type="transformational"),
    Spec("ELR", NEXT, "Urgent care streaming at the front door", "Urgent Care", "Emergency Care", 42000, S.CONFIRM_AND_CHALLENGE,
         "GP-led streaming at the emergency department front door directs walk-in patients with minor illness to the co-located urgent treatment centre, paid at the UTC rate rather than as a type 1 A&E attendance.",
         scheme_type="transformational", first_review="finance"),
    Spec("ELR", NEXT, "MSK pathway redesign", "Planned Care", "Elective Care", 87500, S.CONFIRM_AND_CHALLENGE,
         "A physiotherapy-led clinical triage service, with GP specialist support, for hip, knee, back and shoulder referrals, so that only patients likely to need surgery see an orthopaedic surgeon. Reduces first outpatient attendances and referrals that do not convert to surgery.",
         scheme_type="transformational", returned_by="finance", investment_one_off=35000, investment_recurring=240000,
         challenge="Show the baseline activity and the tariff behind months 7-12, and how the cost of the triage service is netted off.",
         answer="Baseline activity (this year's SUS data to date) and tariff added as appendix B; the triage contract cost is netted off each month from month 4."),
    Spec("ELR", NEXT, "Out-of-area mental health placements", "Mental Health/LD", "Mental Health", 56000, S.QIA_PANEL,
         "Every adult acute and rehabilitation placement outside LLR is reviewed with the partnership trust, bringing patients back to local beds or community support where clinically appropriate, with a step-down pathway so that new out-of-area placements become the exception.",
         scheme_type="transformational", scored=("panel-member",), risk=(3, 2),
         concern="Moving a patient from a settled placement risks relapse: each move follows a clinical review and a transition plan."),
    Spec("ELR", NEXT, "Community ophthalmology service", "Planned Care", "Elective Care", 29000, S.QIA_PANEL,
         "Community optometrists refine cataract referrals, monitor stable glaucoma and see minor eye conditions, so that only patients who need the hospital eye service are referred to it. Paid at the community price instead of the outpatient tariff.",
         scheme_type="transformational"),
    Spec("ELR", NEXT, "Wound care formulary", "Medicines Management", "Optimising the Use of Medicines", 21000, S.AWAITING_SIGN_OFF,
         "A single LLR wound care formulary, with dressings supplied directly to community nurses and practices instead of on prescription through community pharmacy. Saves through product standardisation and less waste."),
    Spec("ELR", NEXT, "Discharge to assess", "Community", "Discharge Programme", 64000, S.APPROVED,
         "Patients who are medically fit go home, or to an interim bed, for assessment of their long-term needs instead of waiting in an acute bed. Saves excess bed days and reduces long-term placements made straight from hospital. The interim beds cost £50,000 to set up.",
         scheme_type="transformational", investment_one_off=50000),
    Spec("ELR", THIS, "Outpatient follow-up reduction", "Planned Care", "Elective Care", 102000, S.IN_DELIVERY,
         "Patient-initiated follow-up and virtual review in dermatology, ophthalmology, ENT and rheumatology, measured against last year's follow-up to new ratios. Saves the cost of follow-up attendances that do not change a patient's care.",
         delivery=Decimal("1.03")),
    Spec("ELR", THIS, "CHC care package review", "CHC", "Continuing Healthcare", 165000, S.IN_DELIVERY,
         "Review of every continuing healthcare package over £1,000 a week against assessed need, with a brokerage function to place patients in care homes at the LLR framework rate.",
         delivery=Decimal("0.70"), risk=(3, 3),
         concern="Reassessment may reduce some packages: patients and families may find the change distressing, and some will appeal.",
         lag="Behind plan: 140 of 310 package reviews done. The nurse assessor vacancy is not yet filled and two providers dispute the revised rates.",
         to_qag="Behind plan by nearly a third, with no recovery plan yet: QAG to decide whether the scheme continues."),
    Spec("ELR", THIS, "Medicines optimisation programme", "Medicines Management", "Optimising the Use of Medicines", 264000, S.IN_DELIVERY,
         "Practice-based pharmacists support switches to cost-effective formulary choices, a repeat prescription ordering hub and structured medication reviews in care homes. Savings measured against ePACT2 prescribing data. Three quarters of each month's saving (the switches) recurs; the rest, from stock no longer wasted in care homes, is one-off.",
         delivery=Decimal("1.05"), recurrent=Decimal("0.75")),
    Spec("ELR", LAST, "Running cost reduction", "Corporate", "Commissioning System Admin", 112000, S.COMPLETED,
         "Shared corporate services across the three LLR CCGs (finance, HR, communications and business intelligence), the end of two office leases and a vacancy control panel.",
         delivery=Decimal("1.00")),
    Spec("ELR", LAST, "Procedures of limited clinical value", "Planned Care", "Elective Care", 14000, S.STOPPED,
         "Added in-year to close the gap: prior approval for procedures of limited clinical value (varicose veins, carpal tunnel release, grommets), with requests checked against the LLR policy before referral.",
         recovery=True, delivery=Decimal("0.40"), months=9,
         lag="Behind plan: most requests meet the policy criteria, so few procedures are avoided.",
         note="Prior approval duplicates the provider's own checks and the saving is not materialising. Replace it with a recovery scheme on consultant-to-consultant referrals."),
    Spec("ELR", THIS, "Private ambulance contract", "Urgent Care", "Emergency Care", 30000, S.REJECTED,
         "Move non-emergency inter-hospital and discharge transport from the current provider to a private ambulance operator at a lower price per journey.",
         rejected_by="clinical",
         note="The proposed response times are below the current provider's and the saving depends on fewer crews at night. The risk to patients outweighs the saving."),
    # --- West Leicestershire ---
    Spec("WL", NEXT, "Primary care prescribing hubs", "Primary Care", "Primary Care", 46000, S.DRAFT,
         "Repeat prescription requests for the practices of two primary care networks are handled by a hub of pharmacy technicians, reducing over-ordering and stockpiling.",
         scheme_type="transformational"),
    Spec("WL", NEXT, "Falls prevention service", "Community", "Community Healthcare", 25000, S.CONFIRM_AND_CHALLENGE,
         "Strength and balance classes, home hazard assessment and medication review for people over 65 who have fallen or are at high risk, to reduce fall-related ambulance conveyances and hip fracture admissions.",
         scheme_type="transformational"),
    Spec("WL", NEXT, "Learning disability placements review", "Mental Health/LD", "Mental Health", 50500, S.QIA_PANEL,
         "A joint review with the county council of high-cost placements for adults with a learning disability or autism, moving people to supported living near home where that meets their needs.",
         scheme_type="transformational"),
    Spec("WL", NEXT, "Stroke rehabilitation in the community", "Community", "Community Healthcare", 33000, S.AWAITING_SIGN_OFF,
         "Early supported discharge for stroke patients with mild to moderate disability: rehabilitation at home from a specialist community team, shortening stays on the acute stroke unit. Not cash-releasing: the stroke unit's beds freed are used for other patients.",
         scheme_type="transformational", half_signed=True, cash_releasing=False),
    Spec("WL", NEXT, "Anticoagulation monitoring in primary care", "Medicines Management", "Optimising the Use of Medicines", 31000, S.AWAITING_SIGN_OFF,
         "INR monitoring for patients on warfarin moves from the hospital anticoagulation clinic to practices and community pharmacies, with a review of each patient for a switch to a DOAC where clinically appropriate."),
    Spec("WL", THIS, "Medicines waste reduction", "Medicines Management", "Optimising the Use of Medicines", 177500, S.IN_DELIVERY,
         "Practices stop community pharmacies ordering repeat prescriptions on patients' behalf; patients order what they need. Targets the waste of unused medicines returned to pharmacies.",
         delivery=Decimal("0.93"),
         lag="Slightly behind plan: the new ordering arrangements started late in three practices."),
    Spec("WL", THIS, "Non-acute contract review", "Finance", "Community Healthcare", 44600, S.IN_DELIVERY,
         "Non-acute contracts (community hospitals, hospice, voluntary sector grants) re-based on the activity delivered last year, with a 2% efficiency applied at renewal.",
         delivery=Decimal("0.86"),
         lag="Behind plan: the hospice and two voluntary sector contracts renew in the autumn, not in April as planned."),
    Spec("WL", THIS, "Balance sheet and reserves review", "Finance", "Commissioning System Admin", 262000, S.IN_DELIVERY,
         "Recovery action: release of accruals and provisions no longer needed, agreed with the external auditors. Non-recurrent: it closes the in-year gap but does not carry into next year.",
         recovery=True, delivery=Decimal("1.00"), recurrent=Decimal(0)),
    Spec("WL", LAST, "Enhanced services review", "Primary Care", "Primary Care", 43000, S.COMPLETED,
         "Local enhanced services paid to practices are reviewed: those now covered by the core contract stop, and the rest are re-specified with outcome measures.",
         delivery=Decimal("1.01")),
    Spec("WL", NEXT, "Diabetes structured education", "Planned Care", "Elective Care", 18000, S.WITHDRAWN,
         "Digital structured education for people with type 1 and type 2 diabetes, to improve control and reduce outpatient attendances and admissions for complications.",
         scheme_type="transformational", withdrawn_at=S.CONFIRM_AND_CHALLENGE,
         note="Superseded: the LLR diabetes programme now commissions structured education for all three CCGs."),
    Spec("WL", THIS, "Closure of a minor injuries unit", "Urgent Care", "Emergency Care", 52000, S.REJECTED,
         "Close the minor injuries unit at a community hospital (open 8am to 8pm) and redirect patients to the urgent treatment centre and the GP extended access hubs.",
         rejected_by="panel", risk=(4, 4),
         concern="Rural patients lose local minor injury care; the nearest alternative is 14 miles away with no direct public transport.",
         note="The nearest alternative is 14 miles away with no direct public transport: the panel judged the impact on access and patient experience for rural patients detrimental."),
    # --- Leicester City ---
    Spec("LC", NEXT, "Frailty virtual ward", "Urgent Care", "Emergency Care", 61000, S.DRAFT,
         "A consultant-led virtual ward for frail older people: remote monitoring and daily review at home by the community frailty team, instead of an admission or to shorten one.",
         scheme_type="transformational", returned_by="clinical",
         challenge="The plan assumes 30 avoided admissions a month from April. Show the evidence for that rate, and a ramp-up while the team is recruited."),
    Spec("LC", NEXT, "Respiratory inhaler switch", "Medicines Management", "Optimising the Use of Medicines", 39000, S.CONFIRM_AND_CHALLENGE,
         "Review of patients with COPD and asthma on high-cost inhalers, switching where clinically appropriate to formulary inhalers of lower cost and carbon footprint, with an inhaler technique check at each review.",
         first_review="clinical"),
    Spec("LC", NEXT, "Community phlebotomy hubs", "Community", "Community Healthcare", 12000, S.CONFIRM_AND_CHALLENGE,
         "Blood tests requested by GPs and outpatient clinics are taken at three community hubs with evening and Saturday sessions instead of the hospital phlebotomy clinic, paid at the community price."),
    Spec("LC", NEXT, "Dementia care navigators", "Mental Health/LD", "Mental Health", 27000, S.QIA_PANEL,
         "Navigators attached to primary care networks support people with dementia and their carers after diagnosis, preventing the crises that lead to emergency admission or early care home placement.",
         scheme_type="transformational"),
    Spec("LC", NEXT, "Enhanced health in care homes", "Urgent Care", "Emergency Care", 34000, S.AWAITING_SIGN_OFF,
         "Each care home has a named practice and a multidisciplinary team with a weekly round, medication reviews and an advance care plan for every resident, reducing emergency admissions and ambulance call-outs from care homes.",
         scheme_type="transformational"),
    # on LC's route for large schemes (demo/routes.py): signed off, waiting for QAG's approval
    Spec("LC", NEXT, "Acute length of stay programme", "Urgent Care", "Emergency Care", 320000, S.AWAITING_QAG,
         "A system-wide programme with the acute trust: criteria-led discharge, same-day emergency care and a frailty assessment unit, to take 40 beds out of the bed base by the end of the year.",
         scheme_type="transformational"),
    Spec("LC", NEXT, "Hospital discharge hub", "Community", "Discharge Programme", 58000, S.APPROVED,
         "One discharge hub with social care, community health and the voluntary sector takes referrals from the wards by 11am, so that patients leave on the day they are medically fit.",
         scheme_type="transformational"),
    Spec("LC", THIS, "Elective referral management", "Planned Care", "Elective Care", 95000, S.IN_DELIVERY,
         "Advice and guidance before referral in cardiology, gastroenterology and gynaecology, and peer review of referrals in the practices with the highest referral rates.",
         delivery=Decimal("0.97"), late=True,
         lag="Slightly behind plan while practices took up advice and guidance; catching up."),
    Spec("LC", THIS, "Continence products review", "Community", "Community Healthcare", 16000, S.IN_DELIVERY,
         "Continence products move from prescriptions to a home delivery service, each patient assessed by a specialist continence nurse, reducing waste and the price paid per product.",
         delivery=Decimal("1.01")),
    Spec("LC", LAST, "CHC fast-track review", "CHC", "Continuing Healthcare", 72000, S.STOPPED,
         "Fast-track (end of life) continuing healthcare packages reviewed at 12 weeks, moving patients no longer in the terminal phase to a full assessment.",
         delivery=Decimal("0.55"), months=8, risk=(3, 3),
         concern="Reviewing care at the end of life may distress patients and their families.",
         lag="Behind plan: few fast-track packages are still in place at 12 weeks, so there is little to review.",
         note="The saving is not materialising and the reviews distressed families at the end of a patient's life. Stopped on quality and delivery grounds."),
    Spec("LC", LAST, "Estates rationalisation", "Corporate", "Commissioning System Admin", 48000, S.COMPLETED,
         "Two leased health centre floors are given up and their clinics consolidated into LIFT buildings with spare capacity, reducing void and under-used space charges.",
         delivery=Decimal("1.00")),
    Spec("LC", NEXT, "Community equipment tender", "Community", "Community Healthcare", 15000, S.WITHDRAWN,
         "Re-tender the CCG's share of the integrated community equipment service, with a recycling target of 85% for returned equipment.",
         withdrawn_at=S.QIA_PANEL,
         note="The county council is re-procuring the joint equipment service a year later; the saving will be sought through that tender instead."),
]
# fmt: on

# Who scores a QIA at the panel: its chair, the quality lead, and two members.
PANEL = ["quality-lead", "panel-member", "panel-member-2"]
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
