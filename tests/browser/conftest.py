"""Browser tests: the web console (``console/``) built and served by ``nudge local --console``, driven by
Playwright for Python in Debian's headless Chromium (``executable_path``: browsers are never downloaded).

The console is built first when ``console/dist`` is missing or older than its sources (``npm ci`` when
``node_modules`` is missing or older than the lock file, then ``npm run build``), by the same helper the
deployed stack's synth uses. Users are added through
the App API's members route with the runtime's App key, as an admin would: one of each role, each
having chosen their password at a first sign-in.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from infra import console_build
from tests.support.local_runtime import Runtime, start

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "console"
DESKTOP = {"width": 1280, "height": 800}
# The runtime shares two cores with the rest of the suite: an answer can take seconds.
WAIT_MS = 20_000
expect.set_options(timeout=WAIT_MS)
PHONE = {"width": 390, "height": 844}


def build_console() -> Path:
    """``console/dist``, built by the helper the deployed stack uses (``infra/console_build.py``)."""
    try:
        return console_build.build_console()
    except console_build.ConsoleBuildError as exc:
        pytest.fail(str(exc), pytrace=False)


def chromium_path() -> str:
    """Debian's Chromium, installed here when running as root (as CI does); Playwright's own browser
    builds are never downloaded."""
    found = shutil.which("chromium")
    if found is None and os.geteuid() == 0:
        install = ["apt-get", "install", "-y", "-q", "chromium"]
        if subprocess.run(install, stdout=subprocess.DEVNULL, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], stdout=subprocess.DEVNULL, check=False)
            subprocess.run(install, stdout=subprocess.DEVNULL, check=False)
        found = shutil.which("chromium")
    if found is None:
        pytest.fail("Chromium is missing: run `apt-get install -y chromium` as root", pytrace=False)
    return found


@dataclass(frozen=True)
class User:
    email: str
    password: str


@dataclass
class Console:
    runtime: Runtime
    admin: User
    author: User
    viewer: User

    @property
    def url(self) -> str:
        return self.runtime.url + "/console/"


def _member(runtime: Runtime, email: str, role: str) -> User:
    """A member who has signed in once already and chosen their password (the new-password step itself
    is tested in the browser on a member of its own)."""
    answer = runtime.app("POST", "/v1/members", {"email": email, "role": role})
    assert answer.status_code == 200, answer.text
    chosen = f"Chosen-{role}-password-1"
    body = {"email": email, "password": answer.json()["password"], "new_password": chosen}
    first = requests.post(runtime.url + "/v1/session/password", json=body, timeout=10)
    assert first.status_code == 200, first.text
    return User(email, chosen)


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    dist = build_console()
    runtime = start(tmp_path_factory.mktemp("console"), "--time-scale", "60", "--console", str(dist))
    try:
        yield Console(
            runtime,
            _member(runtime, "admin@example.com", "admin"),
            _member(runtime, "author@example.com", "author"),
            _member(runtime, "viewer@example.com", "viewer"),
        )
    finally:
        runtime.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page: Any, console: Console, user: User) -> None:
    page.goto(console.url)
    # With the keyboard only: the email field has focus, Tab reaches the password, Enter signs in.
    expect(page.get_by_role("textbox", name="Email")).to_be_focused()
    page.keyboard.type(user.email)
    page.keyboard.press("Tab")
    page.keyboard.type(user.password)
    page.keyboard.press("Enter")
    page.get_by_role("navigation", name="Main").wait_for()


def focus_node(node: Any) -> None:
    """Focus a node of the campaign canvas, and keep trying until it holds: React Flow draws a node hidden
    until it has measured it (a hidden node takes no focus), and the screen can still be settling (its
    data loading, the canvas fitting its view) when the first focus lands."""
    expect(node).to_be_visible()
    for _ in range(50):
        node.focus()
        if node.evaluate("element => element === document.activeElement"):
            return
        node.page.wait_for_timeout(100)
    expect(node).to_be_focused()  # fails naming where the focus is


def screenshot(page: Any, name: str) -> None:
    """The screen once nothing on it is still loading (every loading state reads "Loading…")."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    expect(page.get_by_text(re.compile(r"^Loading.*…$"))).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
