"""The scheme page's history reads as saves: the fields one save changed are one entry, each
field's old -> new; a long text is cut short, the whole of it and what changed, word by word,
behind "Show the whole text"; the latest ten entries are ten saves; and the page's queries do
not grow with the entries."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance import services
from governance.models import SchemeState
from governance.text import word_diff
from tests.pages import text, visible

pytestmark = pytest.mark.django_db

LONG = (
    "Replace routine outpatient follow-ups with patient-initiated ones for stable patients "
    "in dermatology, rheumatology and ophthalmology. Each patient gets an open door for six "
    "months and a named nurse to call; clinics keep the slots freed for new referrals, which "
    "brings the waiting list for a first appointment down from 18 to 12 weeks. The saving is "
    "the tariff of the follow-ups no longer booked, net of the nurse time, agreed with the "
    "trust's finance lead in the contract variation signed in March."
)  # some 500 characters, as a PID's description runs


def save(scheme, by, **data):
    scheme.refresh_from_db()
    services.scheme_update(scheme_id=scheme.pk, by=by, data=data, expected_version=None)


def history_of(client, scheme) -> str:
    """The history section of the scheme page, as HTML."""
    return text(client.get(scheme.get_absolute_url())).split('id="history"')[1]


@pytest.fixture
def draft(make_scheme):
    return make_scheme(SchemeState.DRAFT, title="Follow-ups", description="Fewer follow-ups.")


def test_one_save_changing_several_fields_is_one_entry(client, people, draft):
    lead = people["elr-project-lead"]
    with time_machine.travel(datetime(2019, 5, 1, 9, tzinfo=UTC), tick=False) as clock:
        save(draft, lead, title="Patient-initiated follow-up", scheme_type="transformational")
        clock.shift(timedelta(minutes=5))
        save(draft, lead, sro=people["elr-pmo"], plan_m01="2500")
    client.force_login(lead)
    section = history_of(client, draft)

    assert section.count("<li>") == 3  # two saves and the creation
    words = visible(client.get(draft.get_absolute_url())).split("History", 1)[1]
    assert "Changed 2 fields" in words
    assert "title: Follow-ups → Patient-initiated follow-up" in words
    assert "type: Transactional → Transformational" in words
    assert f"SRO: {people['elr-sro']} → {people['elr-pmo']}" in words
    assert "Apr (month 1): (£1,000) → (£2,500)" in words
    assert words.count("Changed 2 fields") == 2


def test_a_single_change_reads_as_before(client, people, draft):
    lead = people["elr-project-lead"]
    save(draft, lead, title="Patient-initiated follow-up")
    client.force_login(lead)
    words = visible(client.get(draft.get_absolute_url())).split("History", 1)[1]
    assert "Changed title Follow-ups → Patient-initiated follow-up" in words


def test_a_long_text_is_cut_short_with_the_whole_of_it_on_request(client, people, draft):
    lead = people["elr-project-lead"]
    save(draft, lead, description=LONG)
    new = LONG.replace("stable patients", "stable adult patients")
    save(draft, lead, description=new)
    client.force_login(lead)
    section = history_of(client, draft)

    latest = section.split("<details", 1)[0]
    assert LONG not in latest and new not in latest  # cut short in the timeline
    assert new[:150] in latest and "…" in latest
    shown = section.split('<details class="history-diff"', 1)[1].split("</details>", 1)[0]
    assert "Show the whole text and what changed" in shown
    # the whole old and new texts are there: the new without what was removed, and the old
    # without what was added
    marked = shown.split('style="white-space: pre-wrap">', 1)[1].split("</div>", 1)[0]
    hidden = re.compile(r'<span class="visually-hidden">[^<]*</span>')
    assert re.sub(r"<[^>]+>", "", hidden.sub("", re.sub(r"<del.*?</del>", "", marked))) == new
    assert re.sub(r"<[^>]+>", "", hidden.sub("", re.sub(r"<ins.*?</ins>", "", marked))) == LONG


def test_the_diff_marks_an_inserted_word(client, people, draft):
    lead = people["elr-project-lead"]
    save(draft, lead, description=LONG)
    save(draft, lead, description=LONG.replace("stable patients", "stable adult patients"))
    client.force_login(lead)
    section = history_of(client, draft)
    marked = section.split('style="white-space: pre-wrap">', 1)[1].split("</div>", 1)[0]
    # marked for the eye, and said for a screen reader: "added: adult"
    inserted = re.findall(
        r'<ins[^>]*><span class="visually-hidden">added: </span>(.*?)</ins>', marked
    )
    assert [words.strip() for words in inserted] == ["adult"]
    assert "<del" not in marked


def test_a_long_text_mostly_rewritten_shows_whole_before_and_after(client, people, draft):
    lead = people["elr-project-lead"]
    save(draft, lead, description=LONG)
    rewritten = "Community triage of musculoskeletal referrals. " * 6
    save(draft, lead, description=rewritten)
    client.force_login(lead)
    shown = history_of(client, draft).split('<details class="history-diff"', 1)[1]
    shown = shown.split(">", 1)[1].split("</details>", 1)[0]
    assert "<ins" not in shown and "<del" not in shown  # no patchwork of marks
    assert re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", shown)).split() == (
        ["Show", "the", "whole", "text", "Before", *LONG.split(), "After", *rewritten.split()]
    )


def test_word_diff_gives_back_both_texts_and_marks_whole_words():
    old, new = "the cat sat on the mat", "the black cat sat on a mat"
    pairs = word_diff(old, new)
    assert pairs == [
        ("equal", "the"),
        ("insert", " black"),
        ("equal", " cat sat on "),
        ("delete", "the"),
        ("insert", "a"),
        ("equal", " mat"),
    ]
    assert "".join(t for op, t in pairs if op != "insert") == old
    assert "".join(t for op, t in pairs if op != "delete") == new
    # changed words with only a space between them are one change, not a patchwork
    assert word_diff("a b c", "x y z") == [("delete", "a b c"), ("insert", "x y z")]


def test_the_latest_ten_are_ten_saves(client, people, draft):
    lead = people["elr-project-lead"]
    with time_machine.travel(datetime(2019, 5, 1, 9, tzinfo=UTC), tick=False) as clock:
        for n in range(12):
            save(draft, lead, title=f"Title {n}", description=f"Description {n}")
            clock.shift(timedelta(seconds=1))
    client.force_login(lead)
    section = history_of(client, draft)
    shown, rest = section.split('<details class="mt-2">', 1)
    assert "Show all 13 entries" in rest  # twelve saves and the creation
    assert shown.count("<li>") == 10
    assert shown.count("Changed 2 fields") == 10


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_pages_queries_do_not_grow_with_the_history(client, people, draft):
    lead = people["elr-project-lead"]
    client.force_login(lead)
    url = draft.get_absolute_url()
    save(draft, lead, title="First", description=LONG)
    client.get(url)  # the session and the content types read once
    few = queries(client, url)
    for n in range(20):
        save(draft, lead, title=f"Title {n}", description=f"{LONG} {n}", plan_m01=str(n + 1))
    many = queries(client, url)
    assert many <= few, f"the scheme page made {few} queries for 2 entries, {many} for 22"
