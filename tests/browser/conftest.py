"""Browser tests of the web console: Debian's Chromium, headless, driven by
Playwright for Python, against `coffre serve --dev --seed examples/seed.toml
--dev-bootstrap-key …` on a free port (the pytest harness of examples/,
reset before each test). Run them with scripts/test-browser.sh.

Options: --screenshots DIR writes each page at desktop size and at 360 px
(tests/browser/test_screenshots.py); --chromium PATH picks the browser.
"""

import os
import sys

import pytest
from playwright.sync_api import sync_playwright

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "examples", "pytest"))

import coffre_harness  # noqa: E402  (the harness README documents)

ADMIN_KEY = coffre_harness.ADMIN_KEY
# From examples/seed.toml.
CI_KEY = "coffre_qESnDjcCVTWB_NRUhOMkC994g9ByiXxI77XgHz3R52C3B7Hi6m4SKw8A1BWUsm"
OPS_KEY = "coffre_ihUTkIM5jcHt_KiAx9j6egZhicrFfnuEwEJnl0WLYBi39VLSbTgCe5ly3ekDbm"
WEB_SHOP = "0A1B2C3D-0000-4000-8000-000000000031"
SHOP_LOGIN = "0A1B2C3D-0000-4000-8000-000000000051"
CLIENT_PFX = os.path.join(ROOT, "examples", "seed", "client.pfx")

# Headless, and nothing that would reach for the network on its own.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


def pytest_addoption(parser):
    parser.addoption("--screenshots", default=None,
                     help="write screenshots of every page into this directory")
    parser.addoption("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                     help="the Chromium executable (never downloaded)")


@pytest.fixture(scope="session")
def coffre_server():
    server = coffre_harness.start()
    yield server
    server.stop()


@pytest.fixture
def coffre(coffre_server):
    coffre_server.reset()
    return coffre_server


@pytest.fixture(scope="session")
def browser(pytestconfig):
    with sync_playwright() as p:
        # launch() gives every run a fresh, throwaway profile (its own
        # --user-data-dir); each test then gets a context of its own.
        b = p.chromium.launch(executable_path=pytestconfig.getoption("chromium"),
                              args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Console:
    """A page of the console in its own browser context (own cookies),
    recording what the page logs and any uncaught error."""

    def __init__(self, browser, coffre, viewport=DESKTOP):
        self.coffre = coffre
        self.context = browser.new_context(viewport=viewport, base_url=coffre.url)
        self.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=coffre.url)
        self.page = self.context.new_page()
        self.messages, self.errors = [], []
        self.page.on("console", lambda m: self.messages.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        # A dialog of the browser's own (alert, confirm) would mean injected script ran.
        self.page.on("dialog", lambda d: (self.errors.append(f"browser dialog: {d.message}"), d.dismiss()))

    def open(self, hash_path=""):
        self.page.goto(f"/{hash_path}")
        return self.page

    def sign_in(self, key=ADMIN_KEY):
        page = self.page
        if not page.url.startswith(self.coffre.url):
            self.open()
        page.get_by_label("API key").fill(key)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Sign out").wait_for()
        return page

    def close(self):
        self.context.close()


@pytest.fixture
def console(browser, coffre):
    c = Console(browser, coffre)
    yield c
    c.close()
    assert not c.errors, c.errors
