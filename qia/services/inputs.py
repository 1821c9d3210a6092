"""Checking what users send for a QIA: headings, scores and mitigating actions."""

from governance.services import ActionRefused
from qia.models import HEADINGS, Assessment, Heading, Impact, MitigationStatus


def clean_heading(heading: str, data: dict, *, strict: bool) -> dict:
    """A heading's impact and scores as stored: scores kept only for a negative impact.

    Strict (panel and agreed scores) needs every heading answered, and a negative impact
    scored and reasoned; a self-assessment may be saved part-done and is checked on submit.
    """
    label = Heading(heading).label
    impact = data.get("impact") or ""
    if impact not in ("", *Impact.values):
        raise ActionRefused(f"{label}: choose positive, none or negative.")
    consequence = data.get("consequence") or None
    likelihood = data.get("likelihood") or None
    for name, value in (("consequence", consequence), ("likelihood", likelihood)):
        if value is not None and value not in range(1, 6):
            raise ActionRefused(f"{label}: the {name} is scored 1 to 5.")
    if impact != Impact.NEGATIVE:
        consequence = likelihood = None
    cleaned = {
        "impact": impact,
        "consequence": consequence,
        "likelihood": likelihood,
        "rationale": (data.get("rationale") or "").strip(),
    }
    if strict:
        problems = Assessment(heading=heading, **cleaned).problems
        if problems:
            raise ActionRefused(problems[0])
    return cleaned


def clean_headings(headings: dict, *, strict: bool) -> dict[str, dict]:
    """Every heading checked by clean_heading; an unknown heading is refused."""
    unknown = set(headings) - set(HEADINGS)
    if unknown:
        raise ActionRefused("Unknown QIA heading.")
    return {h: clean_heading(h, headings.get(h) or {}, strict=strict) for h in HEADINGS}


def clean_mitigations(mitigations, *, strict: bool = False) -> list[dict]:
    """The mitigating actions as stored. Strict (the panel's agreed ones) needs each dated; a
    self-assessment may be saved part-done and is checked on submit (self_assessment_problems).
    """
    cleaned = []
    for row in mitigations or []:
        if row.get("heading") not in HEADINGS:
            raise ActionRefused("Each mitigating action belongs to one of the six headings.")
        if not (row.get("description") or "").strip() or not (row.get("owner") or "").strip():
            raise ActionRefused("Each mitigating action needs a description and an owner.")
        if strict and not row.get("due_date"):
            raise ActionRefused("Each mitigating action needs a due date.")
        status = row.get("status") or MitigationStatus.PLANNED
        if status not in MitigationStatus.values:
            raise ActionRefused("Unknown status of a mitigating action.")
        cleaned.append(
            {
                "heading": row["heading"],
                "description": row["description"].strip(),
                "owner": row["owner"].strip(),
                "due_date": row.get("due_date"),
                "status": status,
            }
        )
    return cleaned
