"""Playwright driving the machine's Chromium (Debian's package), headless, against live_server."""

import os
import shutil

import pytest

CHROMIUM_FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # The machine has no network beyond loopback: keep Chromium from calling home.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.exists(candidate):
            return candidate
    raise RuntimeError("Chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    """Per module: Playwright's sync API keeps an event loop in this thread while it runs, which
    would break async_to_sync in the tests that follow."""
    from playwright.sync_api import sync_playwright

    # That loop makes Django think the test's own (sync) ORM calls are async.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    page.screenshot(path=str(tmp_path / "last.png"))
    context.close()


@pytest.fixture
def admin_page(page, live_server, django_user_model):
    """A page logged into the admin as an operator."""
    django_user_model.objects.create_superuser("operator", password="operator-password-1")
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "operator-password-1")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    page.live_server_url = live_server.url
    return page
