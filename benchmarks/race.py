"""Race: two people take the same step on the same scheme at the same moment, over HTTP.

    .venv/bin/python benchmarks/race.py [--pairs 100] [--workers 2] [--database qipp_bench_race]

Builds its own database (seed_demo plus the schemes raced over), starts gunicorn with the
benchmark settings, and for each pair: both clients open the form (so both hold the same
version of the scheme), wait at a barrier, post at once, then read the message on the scheme
page. Three races of N pairs each:

- two PMO users start delivery of the same approved scheme;
- two finance reviewers support the same scheme in confirm and challenge;
- one clinical reviewer clicks "support" twice, from two sessions (a double submit).

Each must end with exactly one transition: one success, and one clear refusal ("someone else
changed this scheme", or, for two reviews of the same kind, that the review is already
recorded). Prints, per race, the clients' outcomes and the transition log rows per
scheme, and exits non-zero if any scheme has other than one.
"""

import argparse
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load import stack  # noqa: E402
from benchmarks.load.pages import form_fields, outcome_of  # noqa: E402

RACES = [
    # (name, state raced from, transition, url, form data, users' role, same user twice)
    (
        "two PMO users start delivery",
        "approved",
        "start_delivery",
        "/schemes/{pk}/start-delivery/",
        {"comment": "Race."},
        "PMO",
        False,
    ),
    (
        "two finance reviewers support",
        "confirm_and_challenge",
        "finance_review",
        "/schemes/{pk}/review/finance/",
        {"decision": "supported", "comment": "Race."},
        "Finance reviewer",
        False,
    ),
    (
        "one clinical reviewer, two sessions",
        "confirm_and_challenge",
        "clinical_review",
        "/schemes/{pk}/review/clinical/",
        {"decision": "supported", "comment": "Race."},
        "Clinical reviewer",
        True,
    ),
]


def build(pairs: int) -> list[dict]:
    """seed_demo, then for each race N schemes in its starting state and two sessions."""
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db.models import Max

    from governance.models import (
        PLAN_FIELDS,
        AreaOfSpend,
        FinancialYear,
        Membership,
        Organisation,
        ProgrammeArea,
        Scheme,
        User,
    )

    call_command("seed_demo", verbosity=0)
    today = date.today()
    year, _ = FinancialYear.objects.get_or_create(
        start_year=today.year if today.month >= 4 else today.year - 1
    )
    org = Organisation.objects.get(code="ELR")
    lead, sro = User.objects.get(username="elr-project-lead"), User.objects.get(username="elr-sro")
    area, spend = ProgrammeArea.objects.first(), AreaOfSpend.objects.first()
    top = Scheme.objects.aggregate(top=Max("sequence"))["top"] or 0
    races = []
    for index, (name, state, transition, url, data, role, same_user) in enumerate(RACES):
        first = top + index * pairs + 1
        Scheme.objects.bulk_create(
            Scheme(
                reference=f"ELR-{year.code}-R{n:05d}",
                sequence=n,
                title=f"Race scheme {n}",
                description="Raced over by the race benchmark.",
                organisation=org,
                financial_year=year,
                programme_area=area,
                area_of_spend=spend,
                scheme_type="transactional",
                project_lead=lead,
                sro=sro,
                created_by=lead,
                start_date=year.start_date,
                state=state,
                submission_round=1,
                **{field: Decimal(1000) for field in PLAN_FIELDS},
            )
            for n in range(first, first + pairs)
        )
        ids = list(
            Scheme.objects.filter(sequence__gte=first, sequence__lt=first + pairs)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        people = []
        for n in (1,) if same_user else (1, 2):
            user, _ = User.objects.get_or_create(
                username=f"race-{transition}-{n}", defaults={"email": f"race{n}@example.nhs.uk"}
            )
            user.groups.add(Group.objects.get(name=role))
            Membership.objects.get_or_create(user=user, organisation=org)
            people.append(user)
        sessions = [stack.make_session(people[0]), stack.make_session(people[-1])]
        races.append(
            {
                "name": name,
                "transition": transition,
                "url": url,
                "data": data,
                "ids": ids,
                "sessions": sessions,
            }
        )
    return races


def client(base: str, session_key: str) -> requests.Session:
    http = requests.Session()
    http.cookies.set("sessionid", session_key, domain="127.0.0.1")
    http.base = base
    return http


def one_pair(base: str, race: dict, pk: int) -> list[dict]:
    """Both clients open the form, meet at the barrier, post at once, read the outcome."""
    url = race["url"].format(pk=pk)
    barrier = threading.Barrier(2)
    results = [None, None]

    def attempt(slot: int, session_key: str):
        http = client(base, session_key)
        try:
            page = http.get(f"{base}{url}", allow_redirects=False, timeout=30)
            fields = form_fields(page.text) if page.status_code == 200 else None
            barrier.wait(timeout=30)
            if fields is None:
                results[slot] = {"outcome": "error", "detail": f"form: {page.status_code}"}
                return
            sent = time.perf_counter()
            posted = http.post(
                f"{base}{url}", data={**race["data"], **fields}, allow_redirects=False, timeout=30
            )
            answered = time.perf_counter()
            if posted.status_code in (200, 403, 409):
                # not saved: the form again with what was typed, or a page showing it
                outcome, message = outcome_of(posted.text)
            elif posted.status_code != 302:
                results[slot] = {"outcome": "error", "detail": f"post: {posted.status_code}"}
                return
            else:
                landing = http.get(f"{base}/schemes/{pk}/", timeout=30)
                outcome, message = outcome_of(landing.text)
            results[slot] = {
                "outcome": outcome,
                "detail": message,
                "sent": sent,
                "answered": answered,
            }
        except (requests.RequestException, threading.BrokenBarrierError) as exc:
            results[slot] = {"outcome": "error", "detail": repr(exc)}

    threads = [
        threading.Thread(target=attempt, args=(slot, key))
        for slot, key in enumerate(race["sessions"])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def check(race: dict, outcomes: list[list[dict]]) -> bool:
    from django.contrib.contenttypes.models import ContentType
    from django_fsm_log.models import StateLog

    from governance.models import Review, Scheme

    logged = Counter(
        StateLog.objects.filter(
            content_type=ContentType.objects.get_for_model(Scheme),
            object_id__in=race["ids"],
            transition=race["transition"],
        ).values_list("object_id", flat=True)
    )
    per_scheme = Counter(logged[pk] for pk in race["ids"])
    seen = Counter(result["outcome"] for pair in outcomes for result in pair)
    pair_kinds = Counter(tuple(sorted(result["outcome"] for result in pair)) for pair in outcomes)
    print(f"\n{race['name']} ({len(race['ids'])} pairs)")
    print(f"  client outcomes: {dict(seen)}")
    print(f"  pairs: {', '.join(f'{n} x {a} + {b}' for (a, b), n in pair_kinds.most_common())}")
    print(
        "  transition log rows per scheme: "
        + ", ".join(f"{n} schemes with {rows}" for rows, n in sorted(per_scheme.items()))
    )
    timed = [pair for pair in outcomes if all("sent" in result for result in pair)]
    overlapping = sum(
        1 for a, b in timed if max(a["sent"], b["sent"]) < min(a["answered"], b["answered"])
    )
    gaps = sorted(abs(a["sent"] - b["sent"]) * 1000 for a, b in timed)
    if gaps:
        print(
            f"  the two posts overlapped in {overlapping} of {len(timed)} pairs; sent "
            f"{gaps[len(gaps) // 2]:.1f} ms apart at the median, {gaps[-1]:.1f} ms at most"
        )
    reviews_ok = True
    if race["transition"].endswith("_review"):
        reviews = Counter(
            Review.objects.filter(scheme_id__in=race["ids"]).values_list("scheme_id", flat=True)
        )
        per_scheme_reviews = Counter(reviews[pk] for pk in race["ids"])
        reviews_ok = per_scheme_reviews == Counter({1: len(race["ids"])})
        print(
            "  review rows per scheme: "
            + ", ".join(
                f"{n} schemes with {rows}" for rows, n in sorted(per_scheme_reviews.items())
            )
        )
    examples = {r["detail"] for pair in outcomes for r in pair if r["outcome"] != "success"}
    for detail in sorted(examples)[:3]:
        print(f"  e.g. {detail[:150]}")
    successes_match = seen["success"] == sum(logged.values())
    one_each = per_scheme == Counter({1: len(race["ids"])})
    return one_each and reviews_ok and successes_match and not seen["error"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", default="qipp_bench_race")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="qipp-race-") as folder:
        work = Path(folder)
        env = stack.environment(args.database, str(work / "static"))
        stack.recreate_database(args.database)
        stack.setup_django(env)
        stack.prepare()
        races = build(args.pairs)
        from django.db import connections

        connections.close_all()
        stack.flush_broker()
        results = []
        with stack.Gunicorn(env, workers=args.workers, log=work / "gunicorn.log") as server:
            for race in races:
                started = time.perf_counter()
                outcomes = [one_pair(server.url, race, pk) for pk in race["ids"]]
                race["seconds"] = time.perf_counter() - started
                results.append((race, outcomes))
        stack.flush_broker()
        statuses = Counter(
            line.split(" ", 1)[0]
            for line in (work / "gunicorn.log").read_text().splitlines()
            if line[:3].isdigit()
        )
    served = dict(sorted(statuses.items()))
    print(f"gunicorn: {args.workers} workers; HTTP statuses served: {served}")
    ok = True
    for race, outcomes in results:
        ok = check(race, outcomes) and ok
        print(f"  {race['seconds']:.1f} s for {len(outcomes)} pairs")
    print(f"\n{'PASS' if ok else 'FAIL'}: exactly one transition per scheme in every race")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
