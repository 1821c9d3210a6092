"""A real browser against the live test server: Playwright driving the system's Chromium.

`browser`: one Chromium for the session. It is the one at CHROMIUM_PATH, else `chromium` on
the PATH; when there is none and we run as root with apt-get, Debian's `chromium` package is
installed. Without a browser the tests skip with the reason, unless QIPP_REQUIRE_SERVICES=1
(CI), when it is a failure: CI can never pass by skipping them.

`visit`: a `Visit`, a browser tab on the live server that signs users in through the login
page, saves a screenshot of each step (under QIPP_ARTIFACTS_DIR, default artifacts/browser/)
and checks each page with axe-core, collecting every violation of serious or critical impact.

`demo`: the whole demo (seed_demo); `demo_people`: only its people and reference data. The
live server sees committed rows only, so these tests run in real transactions.
"""

import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "qipp-demo"
SERIOUS = ("serious", "critical")


def artifacts_dir() -> Path:
    return Path(os.environ.get("QIPP_ARTIFACTS_DIR") or ROOT / "artifacts" / "browser")


def _found_chromium() -> str | None:
    named = os.environ.get("CHROMIUM_PATH")
    if named:
        return named if os.access(named, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _install_chromium() -> str:
    """Debian's package, when we may install it; what happened, for the skip reason."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        return "not root with apt-get, so it was not installed"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "chromium"]
    # the package lists may be missing or stale: update them only when the install fails
    for command in (install, ["apt-get", "update", "-q"], install):
        done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            command, env=env, capture_output=True, text=True, timeout=900, check=False
        )
        if command is install and done.returncode == 0:
            return "installed"
    return f"installing the chromium package failed: {done.stderr.strip()[-300:]}"


def _no_browser(reason: str):
    message = f"needs Chromium: {reason}"
    if os.environ.get("QIPP_REQUIRE_SERVICES") == "1":
        pytest.fail(f"QIPP_REQUIRE_SERVICES=1 and this test {message}.", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _found_chromium()
    if path is None and not os.environ.get("CHROMIUM_PATH"):
        outcome = _install_chromium()
        path = _found_chromium()
        if path is None:
            _no_browser(f"none on the PATH and CHROMIUM_PATH is not set; {outcome}")
    if path is None:
        _no_browser(f"CHROMIUM_PATH={os.environ['CHROMIUM_PATH']} is not an executable")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are
    # still plain synchronous code, so Django's guard against async contexts does not apply.
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        # no sandbox: it needs user namespaces, which containers (and root) usually lack
        launched = playwright.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        yield launched
        launched.close()
    finally:
        playwright.stop()
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture(scope="session")
def axe_script() -> str:
    """axe-core, as the axe-playwright-python package ships it."""
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


class Visit:
    """One browser tab on the live server, as one user at a time."""

    def __init__(self, page, base_url: str, shots: Path, axe: str):
        self.page, self.base_url, self.shots, self.axe = page, base_url, shots, axe
        self.count = 0
        self.pages: list[str] = []  # the pages axe looked at
        self.found: dict[tuple, list[str]] = {}  # (rule, impact, help, targets) -> pages
        # what the browser complained of: a script error, a blocked resource, a CSP refusal
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        page.on(
            "console",
            lambda message: (
                message.type == "error" and self.errors.append(f"{page.url}: {message.text}")
            ),
        )

    def url(self, path: str) -> str:
        return self.base_url + path

    def step(self, name: str) -> None:
        """A screenshot of the page as it is, and axe's verdict on it."""
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        path = self.shots / f"{self.count:02d}-{slug}.png"
        from playwright.sync_api import Error as PlaywrightError

        try:
            self.page.screenshot(path=path, full_page=True)
        except PlaywrightError as error:
            # Chromium now and then fails to paint a whole page on a busy machine ("Unable to
            # capture screenshot"): the picture is a record, not a check, so try once more
            if "Unable to capture screenshot" not in str(error):
                raise
            self.page.screenshot(path=path, full_page=True)
        self.check_accessibility(name)

    def check_accessibility(self, name: str) -> None:
        page = self.page
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(self.axe)  # evaluated, not a script tag: the CSP cannot block it
        results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        where = f"{name} ({page.url.removeprefix(self.base_url)})"
        self.pages.append(where)
        for violation in results["violations"]:
            if violation["impact"] in SERIOUS:
                targets = "; ".join(
                    " ".join(map(str, node["target"])) for node in violation["nodes"][:5]
                )
                key = (violation["id"], violation["impact"], violation["help"], targets)
                self.found.setdefault(key, []).append(where)

    @property
    def violations(self) -> list[str]:
        return [
            f"{rule} ({impact}): {help_text}\n    at: {targets}\n    on: {', '.join(pages)}"
            for (rule, impact, help_text, targets), pages in self.found.items()
        ]

    def assert_accessible(self) -> None:
        assert self.pages, "axe looked at no page"
        assert not self.found, "axe found serious or critical violations:\n" + "\n".join(
            self.violations
        )

    def refused_at(self, path: str) -> None:
        """Open a page this user may not see: the refusal page, whose 403 the browser reports
        as an error, which is what the test expects here (and only here)."""
        url = self.url(path)
        response = self.page.goto(url)
        assert response.status == 403, response.status
        self.errors = [error for error in self.errors if not error.startswith(f"{url}: ")]

    def assert_no_browser_errors(self) -> None:
        assert not self.errors, "the browser reported errors:\n" + "\n".join(self.errors)

    def sign_in(self, username: str, *, shot: bool = False) -> None:
        page = self.page
        page.goto(self.url("/accounts/login/"))
        if shot:
            self.step("sign-in page")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        self.nav("My tasks").wait_for()

    def nav(self, name):
        """A link of the main navigation, by its name (a string or a pattern)."""
        main = self.page.get_by_role("navigation", name="Main")
        return main.get_by_role("link", name=name, exact=True)

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Sign out").click()
        self.page.get_by_role("heading", name="Sign in").wait_for()


@pytest.fixture
def demo(transactional_db):
    """The whole demo: its people, reference data and 36 schemes in every state, over last
    year, this year and next."""
    from django.core.management import call_command

    call_command("seed_demo", password=PASSWORD, stdout=io.StringIO())


@pytest.fixture
def demo_people(transactional_db) -> dict:
    """The demo's people and reference data only, without its schemes: quicker to load."""
    from demo.management.commands.seed_demo import Command

    seed = Command()
    reference = seed.reference_data()
    return {**reference, "users": seed.people(reference["orgs"], PASSWORD)}


@pytest.fixture
def visit(browser, live_server, transactional_db, axe_script, request):
    shots = artifacts_dir() / request.node.name
    if shots.exists():
        shutil.rmtree(shots)
    shots.mkdir(parents=True)
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="Europe/London"
    )
    context.set_default_timeout(8_000)
    page = context.new_page()
    yield Visit(page, live_server.url, shots, axe_script)
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:  # the page as it was when the test failed
        page.screenshot(path=shots / "failed.png", full_page=True)
        (shots / "failed.html").write_text(page.content())
    context.close()
    request.config._qipp_screenshots = artifacts_dir()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


def pytest_terminal_summary(terminalreporter, config):
    folder = getattr(config, "_qipp_screenshots", None)
    if folder:
        terminalreporter.write_line(f"Browser screenshots: {folder}")
