"""A signatory signs several QIAs off in one go, where the decision is the same: approve,
with one comment. Each ticked is signed on its own, checked and logged as from its own page
(qia.services.sign_off_record); one that cannot be is reported with the reason and does not
stop the others. A QIA that needs more than a comment (an extreme risk to justify, a missing
equality impact assessment, a choice of capacity) is signed on its own page."""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render

from governance.forms import id_in_range
from governance.pages import Refused, posted, signed_in
from governance.services import ActionRefused, Conflict
from qia import policy as rules
from qia import services
from qia.models import QiaVersion, VersionStatus
from qia.selectors import may

# The most a signatory signs in one go: a page they can still read line by line.
MOST = 50


class BulkSignOffForm(forms.Form):
    comment = forms.CharField(
        label="Your comment, recorded on each QIA signed",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
    )


@dataclass
class Waiting:
    version: QiaVersion
    capacity: str = ""
    why_not: str = ""  # why it is signed on its own page instead

    @property
    def scheme(self):
        return self.version.qia.scheme


def waiting_for(user) -> list[Waiting]:
    """The QIAs awaiting this user's signature, each either signable here or with why not."""
    versions = (
        QiaVersion.objects.filter(
            status=VersionStatus.AWAITING_SIGN_OFF,
            qia__scheme__organisation_id__in=user.organisation_ids,
        )
        .select_related("qia__scheme__organisation")
        .order_by("agreed_at", "pk")
    )
    found = []
    for version in versions:
        scheme = version.qia.scheme
        if not may("sign_off", user, scheme, version=version):
            continue
        capacities = rules.open_capacities(user, version)
        if len(capacities) != 1:
            found.append(Waiting(version, why_not="choose in which capacity you sign"))
        elif version.is_extreme:
            found.append(Waiting(version, why_not="an extreme risk needs your own justification"))
        elif version.needs_eqia and not version.has_eqia:
            found.append(Waiting(version, why_not="its equality impact assessment is missing"))
        else:
            found.append(Waiting(version, capacity=capacities[0]))
    return found


@signed_in
def bulk_sign_off(request):
    if not rules.capacities_held(request.user) or not request.user.organisation_ids:
        raise Refused(
            "Only the Chief Nurse and Quality Officer or the Clinical Chair signs QIAs off.",
            action="sign_off",
            target="several QIAs",
        )
    form = BulkSignOffForm(posted(request))
    waiting = waiting_for(request.user)
    if request.method == "POST" and form.is_valid():
        # a made-up number too large to be an id is refused with the others not listed
        ticked = [id_in_range(pk) for pk in request.POST.getlist("version")]
        if not ticked:
            form.add_error(None, "Tick at least one QIA to sign off.")
        elif None in ticked or len(ticked) > MOST:
            form.add_error(None, f"Tick between 1 and {MOST} of the QIAs listed.")
        else:
            _sign(request, ticked, form.cleaned_data["comment"])
            return redirect("qia_bulk_sign_off")
    return render(
        request,
        "qia/bulk_sign_off.html",
        {
            "form": form,
            "signable": [w for w in waiting if w.capacity],
            "elsewhere": [w for w in waiting if w.why_not],
            "ticked": set(request.POST.getlist("version")),
        },
    )


def _sign(request, ticked: list[int], comment: str) -> None:
    """Sign each ticked version on its own; then one message for those signed, and one for
    each that was not."""
    signed = []
    names = dict(
        QiaVersion.objects.filter(pk__in=ticked).values_list("pk", "qia__scheme__reference")
    )
    for pk in ticked:
        name = names.get(pk, f"QIA {pk}")
        try:
            services.sign_off_record(
                version_id=pk,
                by=request.user,
                decision="approved",
                comment=comment,
            )
        except Conflict as exc:
            messages.warning(request, f"{name} was not signed. {exc.message}")
        except ActionRefused as exc:
            messages.error(request, f"{name} was not signed. {exc.message}")
        else:
            signed.append(name)
    if signed:
        messages.success(request, f"Signed off {len(signed)}: {'; '.join(signed)}.")
