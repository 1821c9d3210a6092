"""Time the committee reports and the plans import on a year of 10,000 schemes.

    .venv/bin/python benchmarks/reports.py [--schemes 10000] [--month 6] [--repeat 5]

Builds N schemes (a tenth of them recovery actions, a few rejected or withdrawn) with 12 months
of returns each, then times every committee table against one hand-written SQL aggregate over
the same tables and prints the ratio and the number of queries each table took. It then times
an import of a plans CSV of N new schemes and of their 12 months of returns, each file twice
(the second time there is nothing to change).

The database is SQLite in a temporary folder, or DATABASE_URL when set (it must be migrated
already). Everything is built inside one transaction that is rolled back at the end, so a
database named by DATABASE_URL is left as it was.
"""

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.database import setup_django  # noqa: E402


def build(n: int, seed: int = 2019):
    """Reference data, N schemes and 12 returns each, written in bulk."""
    from django.db.models import Min

    from governance.models import (
        PLAN_FIELDS,
        AreaOfSpend,
        FinancialYear,
        MonthlyReturn,
        Organisation,
        ProgrammeArea,
        QippTarget,
        Scheme,
        SchemeState,
        System,
        User,
    )

    rng = random.Random(seed)
    # two past years no data of the database uses: this one, and the next for the imports
    start = (FinancialYear.objects.aggregate(low=Min("start_year"))["low"] or 2012) - 2
    year = FinancialYear.objects.create(start_year=start)
    system = System.objects.create(code=f"BENCH{start}", name="Benchmark system")
    orgs = [
        Organisation.objects.create(code=f"B{start}{i}", name=f"Bench {i}", system=system)
        for i in range(5)
    ]
    areas = [ProgrammeArea.objects.create(name=f"Bench area {start} {i}") for i in range(10)]
    spends = [AreaOfSpend.objects.create(name=f"Bench spend {start} {i}") for i in range(8)]
    # staff: the benchmark's plans are a past year loaded as it stood (--historical)
    user = User.objects.create_user(f"bench-{start}", password=None, is_staff=True)
    for org in orgs:
        QippTarget.objects.create(
            organisation=org, financial_year=year, requirement=Decimal(n * 100_000 // 5)
        )

    def pounds(low, high) -> Decimal:
        return Decimal(rng.randint(low * 100, high * 100)) / 100

    states = [SchemeState.IN_DELIVERY] * 90 + [SchemeState.DRAFT] * 5 + [SchemeState.REJECTED] * 3
    states += [SchemeState.WITHDRAWN] * 2
    schemes = []
    for i in range(n):
        org = orgs[i % len(orgs)]
        sequence = i // len(orgs) + 1
        schemes.append(
            Scheme(
                reference=f"{org.code}-{year.code}-{sequence:05d}",
                sequence=sequence,
                title=f"Benchmark scheme {i}",
                description="Benchmark.",
                organisation=org,
                financial_year=year,
                programme_area=areas[i % len(areas)],
                area_of_spend=spends[i % len(spends)],
                scheme_type="transactional",
                is_recovery=i % 10 == 0,
                project_lead=user,
                sro=user,
                created_by=user,
                start_date=date(start, 4, 1),
                state=rng.choice(states),
                **{name: pounds(0, 20_000) for name in PLAN_FIELDS},
            )
        )
    Scheme.objects.bulk_create(schemes, batch_size=1000)
    ids = list(Scheme.objects.filter(financial_year=year).values_list("pk", flat=True))
    returns = [
        MonthlyReturn(
            scheme_id=scheme_id,
            month=month,
            actual=pounds(-1_000, 20_000),
            forecast_outturn=pounds(0, 240_000) if rng.random() < 0.6 else None,
            pmo_assured=pounds(0, 20_000) if rng.random() < 0.5 else None,
            entered_by=user,
        )
        for scheme_id in ids
        for month in range(1, 13)
    ]
    MonthlyReturn.objects.bulk_create(returns, batch_size=2000)
    return year, orgs, areas, spends, user


def raw_sql(table: str, by: str, month: int) -> str:
    """One hand-written aggregate that computes what the table shows, in the same tables."""
    plan_all = " + ".join(f"s.plan_m{m:02d}" for m in range(1, 13))
    plan_ytd = " + ".join(f"s.plan_m{m:02d}" for m in range(1, month + 1))
    plan_rest = " + ".join(f"s.plan_m{m:02d}" for m in range(month + 1, 13)) or "0"
    counted = "s.financial_year_id = %s AND s.state NOT IN ('rejected', 'withdrawn')"
    if table in ("requirement", "area_of_spend"):
        group = "o.code, a.name" if table == "area_of_spend" else "o.code, o.id"
        target = (
            ", (SELECT t.requirement FROM governance_qipptarget t "
            "WHERE t.organisation_id = o.id AND t.financial_year_id = %s)"
            if table == "requirement"
            else ""
        )
        return f"""
            SELECT {group}, SUM({plan_all}){target}
            FROM governance_scheme s
            JOIN governance_organisation o ON o.id = s.organisation_id
            JOIN governance_areaofspend a ON a.id = s.area_of_spend_id
            WHERE {counted} AND NOT s.is_recovery
            GROUP BY {group}
        """
    label = "o.code" if by == "organisation" else "p.name"
    return f"""
        SELECT {label}, s.is_recovery,
            SUM({plan_all}), SUM({plan_ytd}),
            SUM(COALESCE(r.actual, 0)), SUM(r.assured),
            SUM(COALESCE(f.forecast_outturn, COALESCE(r.actual, 0) + {plan_rest}))
        FROM governance_scheme s
        JOIN governance_organisation o ON o.id = s.organisation_id
        JOIN governance_programmearea p ON p.id = s.programme_area_id
        LEFT JOIN (
            SELECT scheme_id, SUM(actual) AS actual, SUM(pmo_assured) AS assured
            FROM governance_monthlyreturn WHERE month <= {month} GROUP BY scheme_id
        ) r ON r.scheme_id = s.id
        LEFT JOIN governance_monthlyreturn f ON f.scheme_id = s.id AND f.month = (
            SELECT MAX(m.month) FROM governance_monthlyreturn m
            WHERE m.scheme_id = s.id AND m.month <= {month} AND m.forecast_outturn IS NOT NULL
        )
        WHERE {counted}
        GROUP BY {label}, s.is_recovery
    """


def best_of(repeat: int, work) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def time_reports(year, month: int, repeat: int) -> list[tuple]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from governance import reports

    cases = [
        ("summary", "organisation"),
        ("summary", "programme_area"),
        ("requirement", "organisation"),
        ("area_of_spend", "organisation"),
        ("forecast", "organisation"),
        ("forecast", "programme_area"),
    ]
    found = []
    for table, by in cases:
        sql = raw_sql(table, by, month)
        params = [year.pk, year.pk] if table == "requirement" else [year.pk]

        def run_raw(sql=sql, params=params):
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                cursor.fetchall()

        def run_report(table=table, by=by):
            reports.build(table, year=year, month=month, by=by)

        run_raw()  # warm the caches of both alike
        run_report()
        raw = best_of(repeat, run_raw)
        ours = best_of(repeat, run_report)
        with CaptureQueriesContext(connection) as captured:
            run_report()
        found.append((f"{table} by {by}", ours, raw, len(captured)))
    with CaptureQueriesContext(connection) as captured:
        reports.chart(year, month)
    chart_time = best_of(repeat, lambda: reports.chart(year, month))
    found.append(("chart (HTML pages)", chart_time, None, len(captured)))
    return found


def _timed_import(kind: str, path: Path, user) -> tuple[float, str]:
    from governance import importers

    started = time.perf_counter()
    with path.open("rb") as handle:
        result = importers.import_file(
            kind, handle, name=path.name, by=user, create_missing=True, historical=True
        )
    elapsed = time.perf_counter() - started
    if not result.ok:
        sys.exit(f"The benchmark's {kind} file did not import: {result.errors[:3]}")
    return elapsed, result.summary()


def time_imports(n: int, orgs, areas, spends, user, folder: Path) -> list[tuple[str, float, str]]:
    """A plans file of N new schemes, then their 12 months of returns; each file twice."""
    from governance.models import PLAN_FIELDS, FinancialYear

    year = FinancialYear.objects.order_by("start_year").first()  # the benchmark's own
    new_year = FinancialYear(start_year=year.start_year + 1)
    references = [
        f"{orgs[i % len(orgs)].code}-{new_year.code}-{i // len(orgs) + 1:05d}" for i in range(n)
    ]
    plans, returns = folder / "plans.csv", folder / "returns.csv"
    with plans.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "reference",
                "title",
                "organisation",
                "financial_year",
                "programme_area",
                "area_of_spend",
                "scheme_type",
                "recovery",
                *PLAN_FIELDS,
            ]
        )
        for i, reference in enumerate(references):
            writer.writerow(
                [
                    reference,
                    f"Imported scheme {i}",
                    orgs[i % len(orgs)].code,
                    new_year.label,
                    areas[i % len(areas)].name,
                    spends[i % len(spends)].name,
                    "transformational" if i % 2 else "transactional",
                    "yes" if i % 10 == 0 else "no",
                    *(f"{(i * 37 + m * 101) % 20000}.{m:02d}" for m in range(1, 13)),
                ]
            )
    with returns.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["reference", "month", "actual", "forecast_outturn", "pmo_assured"])
        for i, reference in enumerate(references):
            for month in range(1, 13):
                writer.writerow([reference, month, f"{(i + month * 7) % 15000}.50", 150000, ""])
    found = []
    for kind, path, rows in (("plans", plans, n), ("returns", returns, n * 12)):
        for label in (f"{kind} import, {rows:,} rows", "the same file again"):
            elapsed, summary = _timed_import(kind, path, user)
            found.append((label, elapsed, summary))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schemes", type=int, default=10_000)
    parser.add_argument("--month", type=int, default=6, help="as at month (1-12)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing; best kept")
    args = parser.parse_args()

    folder = tempfile.TemporaryDirectory(prefix="qipp-bench-")
    own_database = not os.environ.get("DATABASE_URL")
    if own_database:
        os.environ["DATABASE_URL"] = f"sqlite:///{folder.name}/bench.sqlite3"
    setup_django(own_database)
    from django.db import connection, transaction

    print(f"Database: {connection.vendor}{' (temporary)' if own_database else ''}")
    with transaction.atomic():
        started = time.perf_counter()
        year, orgs, areas, spends, user = build(args.schemes)
        print(
            f"Built {args.schemes:,} schemes x 12 months of returns "
            f"in {time.perf_counter() - started:.1f} s."
        )
        print(f"\nReports as at month {args.month}, best of {args.repeat} runs:")
        print(f"{'table':<30}{'report':>10}{'raw SQL':>10}{'ratio':>8}{'queries':>9}")
        for name, ours, raw, queries in time_reports(year, args.month, args.repeat):
            raw_text = f"{raw * 1000:8.1f}ms" if raw else f"{'-':>10}"
            ratio = f"{ours / raw:7.2f}x" if raw else f"{'-':>8}"
            print(f"{name:<30}{ours * 1000:8.1f}ms{raw_text}{ratio}{queries:>9}")
        print()
        for label, elapsed, summary in time_imports(
            args.schemes, orgs, areas, spends, user, Path(folder.name)
        ):
            print(f"{label:<30}{elapsed:8.2f} s   {summary}")
        transaction.set_rollback(True)
    folder.cleanup()


if __name__ == "__main__":
    main()
