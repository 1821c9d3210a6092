"""The roles of DESIGN.md. Each is a Django group, created by a data migration."""

PROJECT_LEAD = "Project lead"
SRO = "SRO"
FINANCE_REVIEWER = "Finance reviewer"
CLINICAL_REVIEWER = "Clinical reviewer"
QUALITY_LEAD = "Quality lead"
PANEL_MEMBER = "Panel member"
PMO = "PMO"
CHIEF_NURSE = "Chief Nurse and Quality Officer"
CLINICAL_CHAIR = "Clinical Chair"
QAG_MEMBER = "QAG member"
VIEWER = "Viewer"

# Group name -> the slug used in demo usernames (`elr-project-lead`).
ALL = {
    PROJECT_LEAD: "project-lead",
    SRO: "sro",
    FINANCE_REVIEWER: "finance-reviewer",
    CLINICAL_REVIEWER: "clinical-reviewer",
    QUALITY_LEAD: "quality-lead",
    PANEL_MEMBER: "panel-member",
    PMO: "pmo",
    CHIEF_NURSE: "chief-nurse",
    CLINICAL_CHAIR: "clinical-chair",
    QAG_MEMBER: "qag-member",
    VIEWER: "viewer",
}
