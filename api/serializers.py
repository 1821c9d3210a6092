"""What the API shows of each row. Amounts are pounds as stored, a saving positive (the
committee tables show savings negative, in their own sign), written as exact decimal strings.
Nothing here reads a panel member's QIA scores."""

from rest_framework import serializers

from governance.models import PLAN_FIELDS, MonthlyReturn, Scheme
from notifications.models import Escalation
from qia.models import QiaVersion


class SchemeRefMixin(serializers.Serializer):
    """The scheme a row belongs to, as a report joins on it."""

    scheme_id = serializers.IntegerField(source="scheme.pk", read_only=True)
    reference = serializers.CharField(source="scheme.reference", read_only=True)
    organisation = serializers.CharField(source="scheme.organisation.code", read_only=True)
    year = serializers.CharField(source="scheme.financial_year.label", read_only=True)


class SchemeSerializer(serializers.ModelSerializer):
    organisation = serializers.CharField(source="organisation.code")
    year = serializers.CharField(source="financial_year.label")
    programme_area = serializers.CharField(source="programme_area.name")
    area_of_spend = serializers.CharField(source="area_of_spend.name")
    project_lead = serializers.CharField(source="project_lead.__str__")
    sro = serializers.CharField(source="sro.__str__")
    annual_plan = serializers.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        model = Scheme
        fields = [
            "id",
            "reference",
            "title",
            "organisation",
            "year",
            "state",
            "state_changed_at",
            "programme_area",
            "area_of_spend",
            "scheme_type",
            "is_recovery",
            "recurrence",
            "cash_releasing",
            "start_date",
            "project_lead",
            "sro",
            "annual_plan",
            "created_at",
        ]


class PlanSerializer(serializers.ModelSerializer):
    """A scheme's savings plan: one column a month (1 is April), then the year's figures."""

    organisation = serializers.CharField(source="organisation.code")
    year = serializers.CharField(source="financial_year.label")
    annual_plan = serializers.DecimalField(max_digits=14, decimal_places=2)
    recurrent_annual = serializers.DecimalField(max_digits=14, decimal_places=2)
    full_year_effect = serializers.DecimalField(max_digits=14, decimal_places=2)
    net_saving = serializers.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        model = Scheme
        fields = [
            "id",
            "reference",
            "organisation",
            "year",
            "state",
            *PLAN_FIELDS,
            "annual_plan",
            "recurrence",
            "recurrent_annual",
            "full_year_effect",
            "investment_one_off",
            "investment_recurring",
            "net_saving",
        ]


class ReturnSerializer(SchemeRefMixin, serializers.ModelSerializer):
    """A monthly return as the scheme page's Delivery block shows it. The PMO's reason and
    evidence for an assured value are not here: ACCESS.md gives them to the PMO only."""

    assured = serializers.SerializerMethodField()

    class Meta:
        model = MonthlyReturn
        fields = [
            "id",
            "scheme_id",
            "reference",
            "organisation",
            "year",
            "month",
            "actual",
            "forecast_outturn",
            "pmo_assured",
            "assured",
            "commentary",
            "entered_at",
            "updated_at",
            "assured_at",
        ]

    def get_assured(self, ret) -> bool:
        return ret.assured_at is not None


class EscalationSerializer(SchemeRefMixin, serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.__str__")

    class Meta:
        model = Escalation
        fields = [
            "id",
            "scheme_id",
            "reference",
            "organisation",
            "year",
            "rule",
            "level",
            "status",
            "owner",
            "reason",
            "raised_at",
            "remedial_action",
            "remedial_due",
            "raised_to_qag_at",
            "decision",
            "decision_note",
            "decision_meeting",
            "decided_at",
            "resolved_at",
            "closed_at",
        ]


class QiaScoreSerializer(serializers.ModelSerializer):
    """The register's headline: the panel's agreed scores of a scheme's current QIA, never a
    member's own."""

    scheme_id = serializers.IntegerField(source="qia.scheme_id")
    reference = serializers.CharField(source="qia.scheme.reference")
    organisation = serializers.CharField(source="qia.scheme.organisation.code")
    year = serializers.CharField(source="qia.scheme.financial_year.label")
    version = serializers.IntegerField(source="number")
    overall_band = serializers.CharField(allow_null=True)

    class Meta:
        model = QiaVersion
        fields = [
            "id",
            "scheme_id",
            "reference",
            "organisation",
            "year",
            "version",
            "status",
            "overall_score",
            "overall_band",
            "top_heading",
            "top_consequence",
            "top_likelihood",
            "top_score",
            "agreed_at",
            "signed_off_at",
            "review_date",
        ]


class OrganisationSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    system = serializers.CharField(source="system.code")


class CellSerializer(serializers.Serializer):
    exact = serializers.DecimalField(
        max_digits=None, decimal_places=4, allow_null=True, help_text="Exact, in pounds or %."
    )
    value = serializers.IntegerField(allow_null=True, help_text="As shown: £'000, or a whole %.")
    text = serializers.CharField()


class ColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    percent = serializers.BooleanField()


class RowSerializer(serializers.Serializer):
    label = serializers.CharField()
    total = serializers.BooleanField()
    cells = serializers.SerializerMethodField()

    def get_cells(self, row) -> dict:
        return {cell.column.key: CellSerializer(cell).data for cell in row.cells}


class TableSerializer(serializers.Serializer):
    """A committee table as its page shows it: savings negative, £'000 in `value`, the exact
    pounds in `exact`."""

    name = serializers.CharField()
    title = serializers.CharField()
    year = serializers.CharField(source="year.label")
    month = serializers.IntegerField()
    by = serializers.CharField()
    scope = serializers.CharField(source="scope.key")
    counts = serializers.CharField()
    notes = serializers.ListField(child=serializers.CharField())
    columns = ColumnSerializer(many=True)
    rows = RowSerializer(many=True)
