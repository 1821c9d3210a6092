"""The PMO starts delivery of several approved schemes in one go from the inbox: each is still
started on its own (checked, logged, its team told); one that cannot be is reported with the
reason and never stops the others."""

import re

import pytest
from django.urls import reverse
from django_fsm_log.models import StateLog

from governance import services
from governance.delivery import lifecycle
from governance.models import AccessRefusal, SchemeState
from notifications.models import Notification
from tests.governance import delivery_fixtures
from tests.pages import text, visible

people = delivery_fixtures.people  # with a second ELR PMO, elr-pmo-2

pytestmark = pytest.mark.django_db

URL = reverse("bulk_start")
APPROVED, IN_DELIVERY = SchemeState.APPROVED, SchemeState.IN_DELIVERY


def signed_in(client, user):
    client.force_login(user)
    return client


def form(*schemes, comment: str = "Contracts signed.") -> dict:
    """What the page posts: the schemes ticked, the version it showed each at, the note."""
    return {
        "scheme": [str(s.pk) for s in schemes],
        **{f"version-{s.pk}": str(s.version) for s in schemes},
        "comment": comment,
    }


def logs(scheme) -> list:
    return list(StateLog.objects.filter(object_id=scheme.pk))


def test_the_pmo_starts_three_schemes_each_logged_and_told_as_one(client, people, make_scheme):
    pmo = people["elr-pmo"]
    schemes = [make_scheme(APPROVED, title=f"Approved {n}") for n in range(3)]
    page = signed_in(client, pmo).get(URL)
    assert all(s.reference in text(page) for s in schemes)

    response = client.post(URL, form(*schemes))

    assert response.status_code == 302 and response["Location"] == URL
    after = visible(client.get(URL))
    assert "Delivery started of 3: " in after and "not started" not in after
    assert "No approved scheme of your organisations is waiting" in after
    for scheme in schemes:
        scheme.refresh_from_db()
        assert scheme.state == IN_DELIVERY
        (log,) = logs(scheme)
        assert (log.by, log.source_state, log.state) == (pmo, APPROVED, IN_DELIVERY)
        assert log.description == "Contracts signed."
        told = Notification.objects.filter(scheme=scheme, kind="delivery")
        assert {n.user.username for n in told} == {
            "elr-project-lead",
            "elr-sro",
            "elr-finance-reviewer",
        }
    assert not AccessRefusal.objects.exists()


def test_my_tasks_links_to_the_page_once_two_schemes_wait(client, people, make_scheme):
    signed_in(client, people["elr-pmo"])
    make_scheme(APPROVED)
    assert URL not in text(client.get(reverse("my_tasks")))
    make_scheme(APPROVED)
    assert "Start delivery of several schemes (2 waiting)" in visible(
        client.get(reverse("my_tasks"))
    )


def test_a_pmo_on_a_schemes_team_is_not_offered_it(client, people, make_scheme):
    pmo = people["elr-pmo"]
    own = make_scheme(APPROVED, sro=pmo, title="The PMO's own")
    other = make_scheme(APPROVED, title="Someone else's")
    page = text(signed_in(client, pmo).get(URL))
    assert other.reference in page and own.reference not in page


@pytest.mark.parametrize("who", ["elr-project-lead", "elr-viewer", "elr-chief-nurse"])
def test_anyone_not_pmo_is_refused_the_page_with_the_reason_on_record(
    client, people, make_scheme, who
):
    scheme = make_scheme(APPROVED)
    signed_in(client, people[who])

    for response in (client.get(URL), client.post(URL, form(scheme))):
        assert response.status_code == 403
        assert "Only the PMO of an organisation starts delivery" in text(response)

    assert AccessRefusal.objects.filter(user=people[who], action="start_delivery").count() == 2
    scheme.refresh_from_db()
    assert scheme.state == APPROVED and logs(scheme) == []


def test_another_organisations_scheme_slipped_into_the_post_is_refused_on_its_own(
    client, people, make_scheme
):
    wl_pmo = people["wl-pmo"]
    own = make_scheme(APPROVED, org="WL", title="West's own")
    elr = make_scheme(APPROVED, title="East's")  # same system: the WL PMO sees it
    far = make_scheme(APPROVED, org="NN", title="Nottingham's")  # another system: hidden
    signed_in(client, wl_pmo)

    client.post(URL, {**form(own), "scheme": [str(own.pk), str(elr.pk), str(far.pk)]})

    said = visible(client.get(URL))
    assert f"Delivery started of 1: {own.reference} West's own." in said
    assert (
        f"{elr.reference} East's was not started. "
        "Only the PMO of the scheme's organisation can start delivery."
    ) in said
    assert f"scheme {far.pk} was not started. You do not have access to this scheme." in said
    assert far.reference not in said  # nothing of a hidden scheme
    for scheme, state in ((own, IN_DELIVERY), (elr, APPROVED), (far, APPROVED)):
        scheme.refresh_from_db()
        assert scheme.state == state
    refusals = AccessRefusal.objects.filter(user=wl_pmo, action="start_delivery")
    assert sorted(refusals.values_list("target", flat=True)) == sorted(
        [f"scheme {elr.pk}", f"scheme {far.pk}"]
    )


def test_another_organisations_scheme_at_an_old_version_is_refused_not_called_changed(
    client, people, make_scheme
):
    elr = make_scheme(APPROVED, title="East's")
    stale = {**form(elr), f"version-{elr.pk}": str(elr.version + 7)}
    signed_in(client, people["wl-pmo"])

    client.post(URL, stale)

    said = visible(client.get(URL))
    assert (
        f"{elr.reference} East's was not started. "
        "Only the PMO of the scheme's organisation can start delivery."
    ) in said
    assert "changed it meanwhile" not in said
    elr.refresh_from_db()
    assert elr.state == APPROVED


def test_a_scheme_started_by_someone_else_meanwhile_is_reported_and_the_rest_start(
    client, people, make_scheme
):
    first, second = make_scheme(APPROVED), make_scheme(APPROVED)
    drawn = form(first, second)  # the page as elr-pmo saw it
    lifecycle.scheme_start_delivery(
        scheme_id=first.pk, by=people["elr-pmo-2"], expected_version=first.version
    )
    signed_in(client, people["elr-pmo"])

    response = client.post(URL, drawn)

    assert response.status_code == 302
    said = visible(client.get(URL))
    assert (
        f"{first.reference} {first.title} was not started. "
        "Someone else changed it meanwhile: it is now in delivery."
    ) in said
    assert f"Delivery started of 1: {second.reference}" in said
    assert [log.by for log in logs(first)] == [people["elr-pmo-2"]]  # no second start
    second.refresh_from_db()
    assert second.state == IN_DELIVERY


def test_a_scheme_no_longer_approved_is_refused_with_its_state(client, people, make_scheme):
    started = make_scheme(IN_DELIVERY)
    signed_in(client, people["elr-pmo"])

    client.post(URL, {"scheme": [str(started.pk)], "comment": ""})  # no version: as typed in

    assert (
        f"{started.reference} {started.title} was not started. "
        "This scheme is in delivery: you cannot start delivery of it now."
    ) in visible(client.get(URL))
    assert logs(started) == []


def test_nothing_ticked_says_what_to_do(client, people, make_scheme):
    scheme = make_scheme(APPROVED)
    signed_in(client, people["elr-pmo"])

    response = client.post(URL, {"comment": "Go."})

    assert response.status_code == 200
    assert "Tick the schemes whose delivery you are starting." in text(response)
    scheme.refresh_from_db()
    assert scheme.state == APPROVED


@pytest.mark.parametrize("bad", ["abc", "-1", "1 OR 1=1", "1.5", "²", "9" * 20])
def test_an_id_that_is_no_number_is_refused_by_the_form(client, people, make_scheme, bad):
    scheme = make_scheme(APPROVED)
    signed_in(client, people["elr-pmo"])

    response = client.post(URL, {"scheme": [str(scheme.pk), bad]})

    assert response.status_code == 200
    assert "is not a scheme of this list" in text(response)
    scheme.refresh_from_db()
    assert scheme.state == APPROVED  # the whole post refused: nothing started


def test_an_id_of_no_scheme_is_reported_and_the_others_start(client, people, make_scheme):
    scheme = make_scheme(APPROVED)
    signed_in(client, people["elr-pmo"])

    client.post(URL, {**form(scheme), "scheme": [str(scheme.pk), "999999"]})

    said = visible(client.get(URL))
    assert "scheme 999999 was not started. That scheme does not exist." in said
    scheme.refresh_from_db()
    assert scheme.state == IN_DELIVERY


def test_a_scheme_ticked_twice_is_started_once(client, people, make_scheme):
    scheme = make_scheme(APPROVED)
    signed_in(client, people["elr-pmo"])

    client.post(URL, {**form(scheme), "scheme": [str(scheme.pk), str(scheme.pk)]})

    assert "not started" not in visible(client.get(URL))
    assert len(logs(scheme)) == 1


# --- the same form sent twice (a double click) ---


def alerts(response, kind: str) -> list[str]:
    """The text of the page's alerts of that kind ("info", "danger", ...)."""
    found = re.findall(rf'class="alert alert-{kind}"[^>]*>(.*?)</div>', response.text, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", alert).split()) for alert in found]


def test_start_delivery_sent_twice_from_one_page_is_already_done(people, make_scheme):
    scheme = make_scheme(APPROVED)
    pmo = people["elr-pmo"]
    lifecycle.scheme_start_delivery(scheme_id=scheme.pk, by=pmo, expected_version=scheme.version)

    with pytest.raises(services.AlreadyDone) as again:
        lifecycle.scheme_start_delivery(
            scheme_id=scheme.pk, by=pmo, expected_version=scheme.version
        )

    assert again.value.message == (
        f"You started delivery of {scheme.reference} a moment ago: it is in delivery."
    )
    assert [log.by for log in logs(scheme)] == [pmo]
    assert Notification.objects.filter(scheme=scheme, kind="delivery").count() == 3
    assert not AccessRefusal.objects.exists()


def test_the_start_delivery_page_tells_a_double_click_delivery_has_started(
    client, people, make_scheme
):
    scheme = make_scheme(APPROVED)
    url = reverse("scheme_start_delivery", args=[scheme.pk])
    form = {"version": scheme.version, "comment": "Clinics open in May"}
    signed_in(client, people["elr-pmo"]).post(url, form)

    response = client.post(url, form, follow=True)

    assert response.redirect_chain[-1][0] == scheme.get_absolute_url()
    assert alerts(response, "info") == [
        f"You started delivery of {scheme.reference} a moment ago: it is in delivery."
    ]
    assert "Nothing was saved" not in response.text
    assert not alerts(response, "danger") and not alerts(response, "warning")
    assert len(logs(scheme)) == 1


def test_the_bulk_page_sent_twice_counts_the_schemes_started_once(client, people, make_scheme):
    first, second = make_scheme(APPROVED), make_scheme(APPROVED)
    drawn = form(first, second)
    signed_in(client, people["elr-pmo"]).post(URL, drawn)

    client.post(URL, drawn)  # the second click, from the same page

    said = visible(client.get(URL))
    assert "was not started" not in said
    assert f"Delivery started of 2: {first.reference}" in said
    assert [len(logs(scheme)) for scheme in (first, second)] == [1, 1]
