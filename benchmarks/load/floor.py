"""Calibration for the load test: what this machine serves of the lightest pages.

    .venv/bin/python benchmarks/load/floor.py [--users 50] [--duration 30] [--workers 2]
                                              [--database qipp_bench]

Runs on the database benchmarks/load/run.py built (run that first). The same users, paced as
in the load scenario, all ask for one page for --duration seconds, on the same gunicorn:

- /healthz, which needs no session (one query and a broker ping), and
- /tasks/ for a reader with no tasks: the lightest page a signed-in user sees (sign-in
  check, roles and organisations, the menu and the unread count).

It prints the requests a second, the response times and the CPU each process used per
request, and what the pacing alone allows (users / mean wait): the ceiling of any run.
No page of the real mix can be served faster than these. benchmarks/load/run.py measures the
signed-in floor page in the same run as its mix, and compares the two.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from benchmarks.load import stack  # noqa: E402
from benchmarks.load.pages import PACING  # noqa: E402

HERE = Path(__file__).resolve().parent
READER = "load-ELR-reader-1"


def reader():
    """The load users' reader of ELR, who has no tasks: the floor page is their task list."""
    from django.contrib.auth import get_user_model

    found = get_user_model().objects.filter(username=READER).first()
    if found is None:
        raise SystemExit(f"No {READER} in the database: run benchmarks/load/run.py first.")
    return found


def measure(args, env, work: Path, url: str, session: str | None) -> float:
    """Serve `url` alone to the users for --duration seconds; print what it cost and return
    the server's CPU per request (gunicorn and PostgreSQL, in milliseconds)."""
    finished, rows, cpu = stack.serve_and_load(
        env,
        workers=args.workers,
        database=args.database,
        log=work / "gunicorn.log",
        locustfile=HERE / "floorfile.py",
        users=args.users,
        duration=args.duration,
        csv_prefix=work / "floor",
        locust_env={"QIPP_FLOOR_URL": url, "QIPP_FLOOR_SESSION": session or ""},
    )
    total = next((row for row in rows if row["Name"] == "Aggregated"), None)
    if total is None:
        print(finished.stdout[-3000:], finished.stderr[-3000:], sep="\n")
        raise SystemExit("locust did not finish: see its output above")
    requests = max(int(total["Request Count"]), 1)
    per_request = "  ".join(
        f"{name} {cpu[name] / requests * 1000:.1f} ms" for name in stack.CpuMeter.NAMES
    )
    busy = sum(cpu[name] for name in stack.CpuMeter.NAMES)
    print(
        f"{url:<10} {'signed in' if session else 'anonymous':<10} "
        f"{float(total['Requests/s']):6.1f} req/s  p50 {total['50%']} ms  p95 {total['95%']} ms  "
        f"failed {total['Failure Count']}  cores busy {busy / cpu['wall']:.2f} of {os.cpu_count()}"
    )
    print(f"{'':<21} CPU per request: {per_request}")
    return server_cpu_ms(cpu, requests)


def server_cpu_ms(cpu: dict[str, float], requests: int) -> float:
    """What serving cost a request: gunicorn's and PostgreSQL's CPU, in milliseconds."""
    return (cpu["gunicorn"] + cpu["postgres"]) / max(requests, 1) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", default="qipp_bench")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="qipp-floor-") as folder:
        work = Path(folder)
        env = stack.environment(args.database, str(work / "static"))
        stack.setup_django(env)
        stack.prepare(migrate=False)
        from django.db import connections

        session = stack.make_session(reader())
        connections.close_all()
        ceiling = args.users / (sum(PACING) / 2)
        print(
            f"machine: {os.cpu_count()} cores; {args.users} users waiting "
            f"{PACING[0]}-{PACING[1]} s between requests: at most {ceiling:.0f} req/s "
            "even if every answer took no time"
        )
        measure(args, env, work, "/healthz", None)
        measure(args, env, work, "/tasks/", session)


if __name__ == "__main__":
    main()
