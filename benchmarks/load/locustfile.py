"""The load scenario: people reading the site, reviewers supporting schemes, the PMO starting
delivery. Run by benchmarks/load/run.py, which passes the plan (sessions, schemes) in
QIPP_LOAD_PLAN and collects what each client saw of its transitions from QIPP_LOAD_OUTCOMES.

Every user is already signed in (a session made by the scale script). A transition is done
as a person does it: open the form, post it with the version the page was drawn from, then
read the message on the scheme page the site redirects to. The message says whether it went
through, was refused (already reviewed, no longer at that step) or lost to someone else's
change meanwhile; the run then checks the database against what the clients saw.
"""

import itertools
import json
import os
import random

from locust import FastHttpUser, between, events, task
from pages import PACING, form_fields, outcome_of
from requests.cookies import create_cookie

PLAN = json.loads(open(os.environ["QIPP_LOAD_PLAN"]).read())  # noqa: SIM115
OUTCOMES: list[dict] = []
SESSIONS = {role: itertools.cycle(entries) for role, entries in PLAN["sessions"].items()}
STATES = ["in_delivery", "approved", "confirm_and_challenge", "completed", "qia_panel"]
SEARCHES = ["care", "Medicines", "scheme 12", "Community", "ELR-"]
REPORTS = ["summary", "requirement", "area_of_spend", "forecast"]


class Person(FastHttpUser):
    """Reads what everyone reads: home, lists, scheme pages, reports, dashboard."""

    abstract = True
    wait_time = between(*PACING)
    role = "reader"

    def on_start(self):
        session = next(SESSIONS[self.role])
        self.org = session["org"]
        self.client.cookiejar.set_cookie(create_cookie("sessionid", session["key"]))

    def read_home(self):
        self.client.get("/", name="home")

    def read_list(self):
        kind = random.random()
        if kind < 0.3:
            self.client.get("/schemes/", name="scheme list")
        elif kind < 0.6:
            params = {
                "state": random.choice(STATES),
                "financial_year": random.choice(PLAN["years"])["id"],
            }
            if random.random() < 0.5:
                params["organisation"] = random.choice(PLAN["organisations"])
            self.client.get("/schemes/", params=params, name="scheme list, filtered")
        elif kind < 0.8:
            params = {"q": random.choice(SEARCHES)}
            self.client.get("/schemes/", params=params, name="scheme list, search")
        else:
            params = {"page": random.randint(2, 60)}
            self.client.get("/schemes/", params=params, name="scheme list, page n")

    def read_scheme(self):
        pk = random.choice(PLAN["read"])
        self.client.get(f"/schemes/{pk}/", name="scheme page")

    def read_report(self):
        year = random.choice(PLAN["years"])["label"]
        params = {"year": year, "month": random.randint(1, 12)}
        table = random.choice(REPORTS)
        self.client.get(f"/reports/{table}/", params=params, name="report table (html)")

    def read_dashboard(self):
        self.client.get("/dashboard/", name="dashboard")

    def read_tasks(self):
        self.client.get("/tasks/", name="my tasks")

    def act(self, kind: str, form_url: str, pk: int, data: dict):
        """Open the form, post it, read the outcome on the scheme page."""
        page = self.client.get(form_url, name=f"{kind}: form", allow_redirects=False)
        if page.status_code == 302:
            # the form is no longer offered: someone moved the scheme on meanwhile
            self.client.get(f"/schemes/{pk}/", name=f"{kind}: scheme page")
            OUTCOMES.append({"scheme": pk, "kind": kind, "outcome": "not offered"})
            return
        fields = form_fields(page.text) if page.status_code == 200 else None
        if fields is None:
            OUTCOMES.append({"scheme": pk, "kind": kind, "outcome": "error"})
            return
        data = {**data, **fields}
        with self.client.post(
            form_url,
            data=data,
            name=f"{kind}: post",
            allow_redirects=False,
            catch_response=True,
        ) as posted:
            if posted.status_code in (200, 403, 409):
                # not saved (a conflict, a refusal): the answer shows what was typed
                posted.success()
                outcome, message = outcome_of(posted.text or "")
                OUTCOMES.append(
                    {"scheme": pk, "kind": kind, "outcome": outcome, "message": message}
                )
                return
            if posted.status_code != 302:
                posted.failure(f"expected a redirect, got {posted.status_code}")
                OUTCOMES.append({"scheme": pk, "kind": kind, "outcome": "error"})
                return
        landing = self.client.get(f"/schemes/{pk}/", name=f"{kind}: scheme page")
        outcome, message = outcome_of(landing.text or "")
        OUTCOMES.append({"scheme": pk, "kind": kind, "outcome": outcome, "message": message})


class Reader(Person):
    fixed_count = 30

    @task(3)
    def home(self):
        self.read_home()

    @task(8)
    def lists(self):
        self.read_list()

    @task(8)
    def scheme(self):
        self.read_scheme()

    @task(1)
    def report(self):
        self.read_report()

    @task(1)
    def dashboard(self):
        self.read_dashboard()

    @task(1)
    def task_list(self):
        self.read_tasks()


class Reviewer(Person):
    abstract = True
    kind = "finance"

    @task(2)
    def home(self):
        self.read_home()

    @task(2)
    def lists(self):
        self.read_list()

    @task(2)
    def scheme(self):
        self.read_scheme()

    @task(1)
    def task_list(self):
        self.read_tasks()

    @task(2)
    def support(self):
        pk = random.choice(PLAN["review"][self.org])
        self.act(
            f"{self.kind} review",
            f"/schemes/{pk}/review/{self.kind}/",
            pk,
            {"decision": "supported", "comment": "Supported under load."},
        )


class FinanceReviewer(Reviewer):
    fixed_count = 7
    role = kind = "finance"


class ClinicalReviewer(Reviewer):
    fixed_count = 7
    role = kind = "clinical"


class Pmo(Person):
    fixed_count = 6
    role = "pmo"

    @task(2)
    def home(self):
        self.read_home()

    @task(2)
    def lists(self):
        self.read_list()

    @task(1)
    def dashboard(self):
        self.read_dashboard()

    @task(1)
    def report(self):
        self.read_report()

    @task(2)
    def start_delivery(self):
        pk = random.choice(PLAN["start"][self.org])
        self.act(
            "start delivery",
            f"/schemes/{pk}/start-delivery/",
            pk,
            {"comment": "Started under load."},
        )


@events.test_stop.add_listener
def save_outcomes(**_kwargs):
    with open(os.environ["QIPP_LOAD_OUTCOMES"], "w") as out:
        json.dump(OUTCOMES, out)
