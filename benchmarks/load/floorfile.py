"""The calibration scenario of benchmarks/load/floor.py: the 50 users of the load scenario,
paced the same way, all asking for one page (QIPP_FLOOR_URL), signed in when
QIPP_FLOOR_SESSION holds a session key."""

import os

from locust import FastHttpUser, between, task
from pages import PACING
from requests.cookies import create_cookie

URL = os.environ["QIPP_FLOOR_URL"]
SESSION = os.environ.get("QIPP_FLOOR_SESSION")


class OnePage(FastHttpUser):
    wait_time = between(*PACING)

    def on_start(self):
        if SESSION:
            self.client.cookiejar.set_cookie(create_cookie("sessionid", SESSION))

    @task
    def page(self):
        self.client.get(URL, name=URL)
