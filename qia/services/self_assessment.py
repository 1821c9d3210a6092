"""The project lead's self-assessment: saving it, the equality impact assessment, and sending
a re-assessment to the panel."""

from django.db import transaction

from governance.models import Scheme, User
from governance.services import ActionRefused
from qia import policy as rules
from qia.models import AssessmentKind, Heading, Qia, QiaVersion, Screening
from qia.services import contents, inputs, steps


def self_assessment_save(
    *,
    scheme_id: int,
    by: User,
    headings: dict[str, dict],
    equality_impact: str = "",
    equality_rationale: str = "",
    eqia_link: str = "",
    eqia_upload=None,
    eqia_content_type: str = "",
    mitigations: list[dict] | None = None,
    expected_revision: int | None = None,
) -> QiaVersion:
    """The project lead saves the self-assessment (complete or not) of the current version.

    The first save of a draft scheme opens version 1. `expected_revision` is the revision of
    the version the page was drawn from, 0 when it was drawn before there was one: a save over
    a version saved since (by another tab, say, that made the first) is a Conflict.
    """
    cleaned = inputs.clean_headings(headings, strict=False)
    if equality_impact not in ("", *Screening.values):
        raise ActionRefused("Equality screening: answer yes, no or not known.")
    mitigation_rows = inputs.clean_mitigations(mitigations)

    def attempt():
        with transaction.atomic():
            scheme = steps.lock_scheme(scheme_id)
            current = rules.newest_version(scheme)
            steps.check_allowed("qia_edit", by, scheme, version=current)
            if current is None:
                qia, _ = Qia.objects.get_or_create(scheme=scheme)
                version = QiaVersion.objects.create(
                    qia=qia,
                    number=1,
                    drives_scheme=True,
                    created_by=by,
                    opened_reason="First assessment, with the PID.",
                )
            else:
                version = steps.lock_version(current.pk)
                steps.expect_revision(version, expected_revision)
            steps.write_assessments(version, AssessmentKind.SELF, cleaned)
            steps.write_mitigations(version, mitigation_rows)
            version.equality_impact = equality_impact
            version.equality_rationale = equality_rationale.strip()
            version.eqia_link = eqia_link.strip()
            if eqia_upload is not None:
                version.eqia_document = eqia_upload
                version.eqia_document_name = eqia_upload.name[:255]
                version.eqia_content_type = eqia_content_type
            steps.touch(version)
            return version

    return steps.refuse_logged(by, "qia_edit", f"scheme {scheme_id}", attempt)


def self_assessment_differences(
    version: QiaVersion | None,
    *,
    headings: dict[str, dict],
    equality_impact: str = "",
    equality_rationale: str = "",
    eqia_link: str = "",
    mitigations: list[dict] | None = None,
    **not_compared,
) -> list[str]:
    """Where the saved self-assessment of `version` differs from what a page sent (the same
    arguments as self_assessment_save; a document or a revision is not compared): the labels
    of the headings, then the equality screening and the mitigating actions. Said to a user
    whose save met someone else's, as the PID edit form does."""
    try:
        typed = inputs.clean_headings(headings, strict=False)
        typed_mitigations = inputs.clean_mitigations(mitigations)
    except ActionRefused:
        typed, typed_mitigations = {}, None
    saved = contents.assessments(version, AssessmentKind.SELF) if version else {}
    unanswered = {"impact": "", "consequence": None, "likelihood": None, "rationale": ""}
    differ = []
    for heading, values in typed.items():
        row = saved.get(heading)
        was = {name: getattr(row, name) for name in values} if row else unanswered
        if was != values:
            differ.append(Heading(heading).label)
    screening = (
        (version.equality_impact, version.equality_rationale, version.eqia_link)
        if version
        else ("", "", "")
    )
    if screening != (equality_impact, equality_rationale.strip(), eqia_link.strip()):
        differ.append("Equality impact screening")
    fields = ("heading", "description", "owner", "due_date", "status")
    saved_mitigations = (
        [{name: getattr(m, name) for name in fields} for m in version.mitigations.all()]
        if version
        else []
    )
    if typed_mitigations != saved_mitigations:
        differ.append("Mitigating actions")
    return differ


def eqia_attach(
    *, version_id: int, by: User, upload=None, content_type: str = "", link: str = ""
) -> QiaVersion:
    """The project lead attaches or links the full equality impact assessment (until signed)."""
    if upload is None and not link.strip():
        raise ActionRefused("Attach the equality impact assessment or give its link.")

    def work(scheme: Scheme, version: QiaVersion):
        steps.check_allowed("qia_attach_eqia", by, scheme, version=version)
        if upload is not None:
            version.eqia_document = upload
            version.eqia_document_name = upload.name[:255]
            version.eqia_content_type = content_type
        if link.strip():
            version.eqia_link = link.strip()
        steps.touch(version)

    return steps.locked(version_id, by=by, action="qia_attach_eqia", work=work)


def reassessment_send_to_panel(
    *, version_id: int, by: User, expected_revision: int | None = None
) -> QiaVersion:
    """The project lead sends a completed re-assessment to the panel."""

    def work(scheme: Scheme, version: QiaVersion):
        steps.check_allowed("qia_send_to_panel", by, scheme, version=version)
        steps.expect_revision(version, expected_revision)
        problems = contents.self_assessment_problems(version)
        if problems:
            raise ActionRefused("Complete the self-assessment first. " + " ".join(problems[:3]))
        sent = "Re-assessment sent to the QIA panel."
        steps.transition(version, "send_to_panel", by=by, description=sent)
        steps.touch(version)
        steps.tell_panel(scheme, version)

    return steps.locked(version_id, by=by, action="qia_send_to_panel", work=work)
