"""Screenshots of every page of the console, at desktop size and at 360 px
wide, for docs/screenshots/ (shown in the README). Runs only with
`--screenshots DIR` (scripts/test-browser.sh --screenshots)."""

import os
import re

import pytest
from playwright.sync_api import expect

from conftest import DESKTOP, PHONE, SHOP_LOGIN, WEB_SHOP, Console

SHOP_2FA_NAME = "Shop 2FA"


def shoot(page, directory, name, size, full_page=True):
    page.wait_for_load_state("networkidle")
    # No focus ring and no passing notice in the pictures.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.evaluate("document.getElementById('status').hidden = true")
    page.screenshot(path=os.path.join(directory, f"{name}-{size}.png"), full_page=full_page)
    page.evaluate("document.getElementById('status').hidden = false")


@pytest.mark.parametrize("size", ["desktop", "360"])
def test_screenshots(browser, coffre, pytestconfig, size):
    directory = pytestconfig.getoption("screenshots")
    if not directory:
        pytest.skip("no --screenshots DIR")
    os.makedirs(directory, exist_ok=True)
    # Midnight after the Ops key's expiry date: its reminders and its expiry
    # notice are in the outbox.
    assert coffre.call("PUT", "/v4/Dev/Clock", {"Now": "2099-12-25T00:00:00Z"})[0] == 200
    assert coffre.call("PUT", "/v4/Dev/Clock", {"Now": "2100-01-01T00:00:00Z"})[0] == 200
    c = Console(browser, coffre, viewport=DESKTOP if size == "desktop" else PHONE)
    try:
        page = c.open()
        expect(page.get_by_label("API key")).to_be_focused()
        shoot(page, directory, "sign-in", size)
        c.sign_in()
        expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
        shoot(page, directory, "api-keys", size)
        page.get_by_role("button", name="Create API key").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Name", exact=True).fill("Supplier feed")
        dialog.get_by_label("Expiration date").fill("2100-12-31")
        dialog.get_by_label("Enable permissions").check()
        dialog.get_by_role("checkbox", name="VaultItem.Read", exact=True).check()
        shoot(page, directory, "api-key-form", size, full_page=False)
        dialog.get_by_label("Contact login").fill("feed")
        dialog.get_by_label("Contact e-mail").fill("feed@example.com")
        dialog.get_by_role("button", name="Create").click()
        expect(page.get_by_role("dialog", name="API key created")).to_be_visible()
        shoot(page, directory, "api-key-shown-once", size, full_page=False)
        page.get_by_role("dialog").get_by_role("button", name="Close").click()

        page.goto(f"/#/vault/{WEB_SHOP}")
        expect(page.get_by_role("heading", name="Items")).to_be_visible()
        shoot(page, directory, "vault-section", size)
        page.get_by_role("button", name="Create item").click()
        page.get_by_role("dialog").get_by_label("Type").select_option("OneTimePassword")
        shoot(page, directory, "vault-item-form", size, full_page=False)
        page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
        page.get_by_role("link", name=SHOP_2FA_NAME).click()
        expect(page.locator(".otp")).to_have_text(re.compile(r"^\d{6}$"))
        shoot(page, directory, "vault-item-otp", size)
        page.goto(f"/#/vault/{WEB_SHOP}/{SHOP_LOGIN}")
        page.get_by_role("button", name="Reveal").click()
        page.get_by_role("dialog").get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("dialog")).to_contain_text("Tr0ub4dor&3")
        shoot(page, directory, "vault-reveal", size, full_page=False)
        page.get_by_role("dialog").get_by_role("button", name="Close").click()

        for name, path in [("operators", "#/operators"),
                           ("groups", "#/groups/0A1B2C3D-0000-4000-8000-000000000021"),
                           ("history", "#/history?Limit=12"), ("outbox", "#/outbox")]:
            page.goto(f"/{path}")
            page.locator("main h1").wait_for()
            shoot(page, directory, name, size)
        assert c.errors == []
    finally:
        c.close()
