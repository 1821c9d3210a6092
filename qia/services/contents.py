"""Reading what a QIA version holds, and whether it is complete enough to go on."""

from collections.abc import Iterable

from governance.models import Profession, Scheme, User
from qia import policy as rules
from qia.models import (
    HEADINGS,
    Assessment,
    AssessmentKind,
    Heading,
    Impact,
    QiaVersion,
    VersionStatus,
)
from qia.services import steps


def assessments(version: QiaVersion, kind: str) -> dict[str, Assessment]:
    """The version's assessments of `kind` (self or agreed), by heading."""
    return {a.heading: a for a in version.assessments.all() if a.kind == kind}


def mitigated_headings(mitigations: Iterable[dict]) -> set[str]:
    """The headings with at least one mitigating action that has an owner and a due date."""
    return {
        row["heading"]
        for row in mitigations
        if (row.get("owner") or "").strip() and row.get("due_date")
    }


def unmitigated(negative: Iterable[str], mitigations: Iterable[dict]) -> list[str]:
    """The negative headings, in sheet order, that no complete mitigating action covers."""
    left = set(negative) - mitigated_headings(mitigations)
    return [heading for heading in HEADINGS if heading in left]


def unmitigated_message(headings: list[str]) -> str:
    """Why the panel cannot agree yet: a negative heading left without a mitigating action."""
    labels = [Heading(heading).label for heading in headings]
    if len(labels) == 1:
        return (
            f"{labels[0]} is agreed as a negative impact: record at least one mitigating "
            "action for it, with an owner and a due date."
        )
    named = ", ".join(labels[:-1]) + f" and {labels[-1]}"
    return (
        f"{named} are agreed as negative impacts: record at least one mitigating action for "
        "each, with an owner and a due date."
    )


def self_assessment_problems(version: QiaVersion) -> list[str]:
    """What is missing before the self-assessment counts as complete."""
    rows = assessments(version, AssessmentKind.SELF)
    covered = mitigated_headings(version.mitigations.values("heading", "owner", "due_date"))
    problems = []
    for heading in HEADINGS:
        row = rows.get(heading) or Assessment(heading=heading)
        problems += row.problems
        # DESIGN.md: a negative impact comes with mitigating actions (owner, due date)
        if row.impact == Impact.NEGATIVE and heading not in covered:
            problems.append(
                f"{Heading(heading).label}: add a mitigating action for the negative impact, "
                "with an owner and a due date."
            )
    if not version.equality_impact:
        problems.append(
            "Equality screening: say whether the scheme affects a group with a protected "
            "characteristic or widens health inequalities."
        )
    elif not version.equality_rationale.strip():
        problems.append("Equality screening: give the rationale for your answer.")
    return problems


def submit_check(scheme: Scheme) -> str | None:
    """governance.services.SUBMIT_CHECKS: no submission without a complete self-assessment."""
    version = rules.newest_version(scheme)
    if version is None:
        return (
            "Complete the QIA self-assessment before submitting: it goes to the panel with the PID."
        )
    problems = self_assessment_problems(version)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        return "Complete the QIA self-assessment first. " + " ".join(problems[:3]) + more
    if unchanged_since_sent_back(version):
        return (
            "Revise the QIA self-assessment before submitting: it is as it was when it came "
            f"back to you. {version.opened_reason}"
        )
    return None


def unchanged_since_sent_back(version: QiaVersion) -> bool:
    """Whether the version was opened because the panel returned the one before or a signatory
    declined it for revision, and still says exactly what that one said: sending it back
    unchanged would put the same QIA before them again without the detail they asked for."""
    before = (
        version.qia.versions.filter(number__lt=version.number).order_by("-number").first()
        if version.drives_scheme
        else None
    )
    if before is None or before.status not in (VersionStatus.RETURNED, VersionStatus.DECLINED):
        return False
    return _what_it_says(version) == _what_it_says(before)


def _what_it_says(version: QiaVersion) -> tuple:
    """Everything the project lead writes in a self-assessment, to compare two versions."""
    headings = sorted(
        (row.heading, row.impact, row.consequence, row.likelihood, row.rationale.strip())
        for row in assessments(version, AssessmentKind.SELF).values()
    )
    mitigations = sorted(
        version.mitigations.values_list("heading", "description", "owner", "due_date", "status"),
        key=str,  # a due date may be None
    )
    screening = (
        version.equality_impact,
        version.equality_rationale.strip(),
        version.eqia_link,
        version.eqia_document.name if version.eqia_document else "",
    )
    return headings, mitigations, screening


def highest(rows) -> Assessment | None:
    """The highest-scoring negative heading; a tie goes to the graver consequence."""
    scored = [row for row in rows if row.score]
    if not scored:
        return None
    return max(scored, key=lambda row: (row.score, row.consequence, -HEADINGS.index(row.heading)))


def default_overall(headings: dict[str, dict]) -> int | None:
    """The agreed overall score unless the panel justifies another: the highest heading's."""
    top = highest([Assessment(heading=h, **values) for h, values in headings.items()])
    return top.score if top else None


def composition_problem(version: QiaVersion, chair: User) -> str | None:
    """Why the panel cannot agree yet: the quality lead plus enough members and professions."""
    members = dict(
        version.panel_scores.values_list("member_id", "profession").distinct().order_by()
    )
    if chair.pk not in members:
        return "Record your own scores first: the quality lead scores as a member of the panel."
    others = {pk: profession for pk, profession in members.items() if pk != chair.pk}
    professions = {profession for profession in others.values() if profession}
    need_members = steps.setting("QIA_PANEL_MIN_OTHER_MEMBERS", 2)
    need_professions = steps.setting("QIA_PANEL_MIN_PROFESSIONS", 2)
    if len(others) >= need_members and len(professions) >= need_professions:
        return None
    labels = ", ".join(sorted(Profession(p).label.lower() for p in professions)) or "none recorded"
    return (
        f"The panel needs the quality lead plus at least {need_members} other members of at "
        f"least {need_professions} different professions before it can agree. So far "
        f"{len(others)} other member{'s' if len(others) != 1 else ''} "
        f"(professions: {labels})."
    )
