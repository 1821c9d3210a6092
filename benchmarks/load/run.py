"""Load test: 50 users on gunicorn and PostgreSQL for 60 seconds, then check every transition.

    .venv/bin/python benchmarks/load/run.py [--schemes 5000] [--users 50] [--duration 60]
                                            [--workers 2] [--database qipp_bench] [--reuse]

1. Creates the database (dropped first if there), migrates it, runs seed_demo and scales it to
   N schemes (benchmarks/load/scale.py), with a signed-in session for each load user.
2. Profiles each kind of page in-process: its queries and time, one user at a time.
3. Starts gunicorn (config.settings.bench: production settings over plain HTTP) and runs the
   locust scenario of benchmarks/load/locustfile.py headless from this machine, then stops
   gunicorn.
4. Serves the floor page (benchmarks/load/floor.py: /tasks/ of a reader with no tasks, the
   lightest signed-in page) to the same users on the same gunicorn for --floor-duration
   seconds.
5. Compares what the clients saw of their transitions with the transition log, the reviews
   and the schemes' states in the database, and prints the figures and PASS or FAIL for
   each goal: the mix costs the server (gunicorn and PostgreSQL) at most 4 times the CPU a
   request of the floor page costs, no errors, no transition lost or doubled.

Requests a second and response times are printed too, but they are not goals: on a shared
machine they move 10-20% from hour to hour, while the ratio of two loads measured in the
same run does not.

--reuse keeps the database of an earlier run (the schemes already acted on stay as they are;
the others are acted on this time), to repeat the load without building it again.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from benchmarks.load import floor, stack  # noqa: E402

HERE = Path(__file__).resolve().parent
# The mix may cost the server at most this many times the CPU of the floor page a request.
MOST_TIMES_THE_FLOOR = 4
TRANSITIONS = {
    "finance review": "finance_review",
    "clinical review": "clinical_review",
    "start delivery": "start_delivery",
}


def build(args, env) -> dict:
    if not args.reuse:
        stack.recreate_database(args.database)
    stack.setup_django(env)
    stack.prepare()
    from benchmarks.load.scale import scale

    started = time.perf_counter()
    plan = scale(args.schemes)
    from governance.models import MonthlyReturn, Scheme

    print(
        f"data: {Scheme.objects.count():,} schemes, {MonthlyReturn.objects.count():,} returns, "
        f"built in {time.perf_counter() - started:.1f} s"
    )
    return plan


def profile(plan: dict) -> None:
    """Each page once to warm up, then 5 times: its queries, and the median of its CPU time
    (this process and its PostgreSQL backend, which other work on the machine does not
    inflate as much as it does the wall-clock time) and of its wall-clock time."""
    import psutil
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from governance.models import Scheme

    year = plan["years"][-1]
    by_state = {}
    for pk, state in Scheme.objects.filter(pk__in=plan["read"]).values_list("pk", "state"):
        by_state.setdefault(state, pk)
    review = plan["review"]["ELR"][-1]
    start = plan["start"]["ELR"][-1]
    pages = [
        ("reader", "home", "/"),
        ("reader", "scheme list", "/schemes/"),
        (
            "reader",
            "scheme list, filtered",
            f"/schemes/?state=in_delivery&financial_year={year['id']}",
        ),
        ("reader", "scheme list, search", "/schemes/?q=care"),
        ("reader", "scheme list, page 40", "/schemes/?page=40"),
        *[("reader", f"scheme page ({s})", f"/schemes/{pk}/") for s, pk in by_state.items()],
        *[
            ("reader", f"report {table}", f"/reports/{table}/?year={year['label']}&month=6")
            for table in ("summary", "requirement", "area_of_spend", "forecast")
        ],
        ("reader", "dashboard", "/dashboard/"),
        ("reader", "my tasks", "/tasks/"),
        ("finance", "my tasks (finance reviewer)", "/tasks/"),
        ("finance", "finance review: form", f"/schemes/{review}/review/finance/"),
        ("pmo", "start delivery: form", f"/schemes/{start}/start-delivery/"),
    ]
    connection.ensure_connection()
    backend = psutil.Process(connection.connection.info.backend_pid)

    def cpu() -> float:
        used = backend.cpu_times()
        return time.process_time() + used.user + used.system

    print("\npage profile (in-process, one user, no load; medians of 5):")
    print(f"  {'page':<36} {'status':>6} {'queries':>7} {'CPU':>9} {'wall':>9}")
    for role, name, url in pages:
        client = Client()
        client.cookies["sessionid"] = plan["sessions"][role][0]["key"]
        client.get(url)
        cpus, walls = [], []
        for _ in range(5):
            with CaptureQueriesContext(connection) as queries:
                started, started_cpu = time.perf_counter(), cpu()
                response = client.get(url)
                walls.append(time.perf_counter() - started)
                cpus.append(cpu() - started_cpu)
        print(
            f"  {name:<36} {response.status_code:>6} {len(queries):>7} "
            f"{statistics.median(cpus) * 1000:>6.1f} ms {statistics.median(walls) * 1000:>6.1f} ms"
        )


def baseline() -> dict:
    from django.db.models import Max
    from django_fsm_log.models import StateLog

    from governance.models import Review

    return {
        "log": StateLog.objects.aggregate(top=Max("pk"))["top"] or 0,
        "review": Review.objects.aggregate(top=Max("pk"))["top"] or 0,
    }


def run_locust(args, env, plan: dict, work: Path) -> tuple[dict, list[dict], Path, dict]:
    plan_file, outcomes_file = work / "plan.json", work / "outcomes.json"
    plan_file.write_text(json.dumps(plan))
    stack.flush_broker()
    log = work / "gunicorn.log"
    print(
        f"\ngunicorn: {args.workers} workers; load average before: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    finished, rows, cpu = stack.serve_and_load(
        env,
        workers=args.workers,
        database=args.database,
        log=log,
        locustfile=HERE / "locustfile.py",
        users=args.users,
        duration=args.duration,
        csv_prefix=work / "locust",
        locust_env={"QIPP_LOAD_PLAN": str(plan_file), "QIPP_LOAD_OUTCOMES": str(outcomes_file)},
    )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    stack.flush_broker()
    if not (outcomes_file.exists() and rows):
        print(finished.stdout[-3000:], finished.stderr[-3000:], sep="\n")
        raise SystemExit("locust did not finish: see its output above")
    return rows, json.loads(outcomes_file.read_text()), log, cpu


def show_stats(rows: list[dict]) -> dict:
    print(
        f"\n  {'request':<36} {'count':>6} {'fail':>4} {'rps':>6} {'p50':>5} {'p95':>5} "
        f"{'p99':>5} {'max':>6}"
    )
    for row in rows:
        print(
            f"  {row['Name'][:36]:<36} {int(row['Request Count']):>6} "
            f"{int(row['Failure Count']):>4} {float(row['Requests/s']):>6.1f} "
            f"{row['50%']:>5} {row['95%']:>5} {row['99%']:>5} "
            f"{float(row['Max Response Time']):>6.0f}"
        )
    return next(row for row in rows if row["Name"] == "Aggregated")


def verify(outcomes: list[dict], before: dict) -> tuple[bool, list[str]]:
    """The transitions the clients saw go through against the log, reviews and states."""
    from django.contrib.contenttypes.models import ContentType
    from django_fsm_log.models import StateLog

    from governance.models import Review, Scheme

    seen = Counter(o["outcome"] for o in outcomes)
    succeeded = Counter(
        (o["scheme"], TRANSITIONS[o["kind"]]) for o in outcomes if o["outcome"] == "success"
    )
    logged = Counter(
        StateLog.objects.filter(
            pk__gt=before["log"], content_type=ContentType.objects.get_for_model(Scheme)
        ).values_list("object_id", "transition")
    )
    reviews = Counter(
        (scheme, f"{kind}_review")
        for scheme, kind in Review.objects.filter(pk__gt=before["review"]).values_list(
            "scheme_id", "kind"
        )
    )
    lost = [key for key, n in succeeded.items() if logged[key] < n]
    doubled = [key for key, n in logged.items() if n > 1 or succeeded[key] < n]
    review_mismatch = [
        key
        for key in set(reviews) | {k for k in logged if k[1].endswith("_review")}
        if reviews[key] != logged[key]
    ]
    touched = {scheme for scheme, _ in logged} | {scheme for scheme, _ in succeeded}
    states = dict(Scheme.objects.filter(pk__in=touched).values_list("pk", "state"))
    wrong_state = []
    # the whole log of each scheme: with --reuse, an earlier run may have done one review
    every = defaultdict(set)
    for pk, transition in StateLog.objects.filter(
        content_type=ContentType.objects.get_for_model(Scheme), object_id__in=touched
    ).values_list("object_id", "transition"):
        every[pk].add(transition)
    for scheme in touched:
        done = every[scheme]
        if "start_delivery" in done:
            expected = "in_delivery"
        elif {"finance_review", "clinical_review"} <= done:
            expected = "qia_panel"
        else:
            expected = "confirm_and_challenge"
        if states[scheme] != expected:
            wrong_state.append((scheme, states[scheme], expected))
    by_kind = defaultdict(Counter)
    for o in outcomes:
        by_kind[o["kind"]][o["outcome"]] += 1
    lines = [
        f"client outcomes: {dict(seen)}",
        *[f"  {kind}: {dict(counts)}" for kind, counts in sorted(by_kind.items())],
        f"transitions the clients saw succeed: {sum(succeeded.values())}; "
        f"transition log rows written: {sum(logged.values())}; "
        f"reviews written: {sum(reviews.values())}",
        f"lost (seen to succeed, not logged): {len(lost)}; "
        f"doubled (logged twice, or logged but not seen): {len(doubled)}; "
        f"review rows not matching the log: {len(review_mismatch)}; "
        f"schemes in the wrong state: {len(wrong_state)} of {len(touched)}",
    ]
    messages = Counter(
        (o["outcome"], o.get("message", "")[:110]) for o in outcomes if o["outcome"] != "success"
    )
    lines += [f"  {n} x {outcome}: {text}" for (outcome, text), n in messages.most_common(5)]
    ok = not (lost or doubled or review_mismatch or wrong_state) and not (
        seen["error"] or seen["unknown"]
    )
    return ok, lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schemes", type=int, default=5000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--floor-duration", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", default="qipp_bench")
    parser.add_argument("--reuse", action="store_true", help="keep the database of a past run")
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="qipp-load-") as folder:
        work = Path(folder)
        env = stack.environment(args.database, str(work / "static"))
        print(f"machine: {os.cpu_count()} cores; PostgreSQL, gunicorn and locust share them")
        plan = build(args, env)
        if not args.no_profile:
            profile(plan)
        before = baseline()
        from django.db import connections

        connections.close_all()
        rows, outcomes, log, cpu = run_locust(args, env, plan, work)
        total = show_stats(rows)
        requests = int(total["Request Count"])
        print(
            f"\nCPU seconds in {cpu['wall']:.0f} s ({os.cpu_count()} cores = "
            f"{cpu['wall'] * os.cpu_count():.0f} CPU seconds available), and per request:"
        )
        for name in stack.CpuMeter.NAMES:
            print(f"  {name:<16} {cpu[name]:7.1f} s  {cpu[name] / max(requests, 1) * 1000:6.1f} ms")
        statuses = Counter(
            line.split(" ", 1)[0] for line in log.read_text().splitlines() if line[:3].isdigit()
        )
        print(f"\nHTTP statuses served (gunicorn access log): {dict(sorted(statuses.items()))}")
        transitions_ok, lines = verify(outcomes, before)
        print("\n".join(lines))
        mix_ms = floor.server_cpu_ms(cpu, requests)
        print(f"\nthe floor page, the same {args.users} users for {args.floor_duration} s:")
        floor_args = argparse.Namespace(
            users=args.users,
            duration=args.floor_duration,
            workers=args.workers,
            database=args.database,
        )
        floor_ms = floor.measure(
            floor_args, env, work, "/tasks/", stack.make_session(floor.reader())
        )

    rps, ratio = float(total["Requests/s"]), mix_ms / floor_ms
    errors = int(total["Failure Count"]) + sum(n for s, n in statuses.items() if s >= "500")
    print(
        f"\nrequests: {int(total['Request Count']):,} in {args.duration} s with {args.users} "
        f"users ({rps:.1f} a second); p50 {total['50%']} ms, p95 {total['95%']} ms, "
        f"p99 {total['99%']} ms"
    )
    print(
        f"server CPU a request (gunicorn and PostgreSQL): mix {mix_ms:.1f} ms, "
        f"floor page {floor_ms:.1f} ms, ratio {ratio:.2f}"
    )
    results = [
        (
            f"mix within {MOST_TIMES_THE_FLOOR}x the floor page",
            f"{ratio:.2f}x",
            ratio <= MOST_TIMES_THE_FLOOR,
        ),
        ("errors = 0", str(errors), errors == 0),
        ("no transition lost or doubled", "checked", transitions_ok),
    ]
    for name, value, ok in results:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {value}")
    sys.exit(0 if all(ok for *_, ok in results) else 1)


if __name__ == "__main__":
    main()
