"""Jupyter Notebook 7 in a real Chromium, in its own interface: the file browser at /tree, each
notebook in its own tab at /notebooks/<path>, Run All from its menu bar, 01 → 90.

Notebook 7 is built from JupyterLab 4's packages (the locked notebook 7.6 on jupyterlab 4.6), so the
widgets' front end and the form's probe are JupyterLab's; what differs is the application around
them, which this test drives. The server, Chromium and the phone (the QR read from the screen's
pixels) are test_e2e_browser's; the cases share its xdist worker.
"""

import json
import shutil
import time

import pytest
import test_e2e_browser
from secret_scan import scan_notebook, scan_text
from test_e2e_browser import (
    REPO,
    Lab,
    enable_with_the_phone,
    menu,
    phone_scans_screen,
    save_from_browser,
    section_passed,
    wait_idle,
)

from handson_helpers.totp import authenticator_codes

pytestmark = pytest.mark.xdist_group("browser")
# JupyterLab's test's fixtures: Chromium, a page in a fresh context, the seed's QR path left as found
browser, page, no_qr_left_behind = test_e2e_browser.browser, test_e2e_browser.page, test_e2e_browser.no_qr_left_behind
NOTEBOOKS = [
    "01_preparation",
    "10_create_iam_user",
    "21_create_virtual_mfa_device",
    "22_enable_virtual_mfa_device",
    "23_resync_virtual_mfa_device",
    "31_create_access_key",
    "40_mfa_protected_access",
    "45_add_backup_mfa_device",
    "90_cleanup",
]


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory):
    server = Lab(tmp_path_factory.mktemp("notebook7"), app="notebook")
    yield server
    server.close()


def open_from_tree(page, server, folder, name):
    """Notebook 7's file browser (/tree), a double click: the notebook opens in a new tab at
    /notebooks/<path>, its kernel started and idle."""
    page.goto(server.url(f"/tree/{folder}"))
    item = page.locator(".jp-DirListing-item", has_text=f"{name}.ipynb").first
    item.wait_for(timeout=60_000)
    with page.context.expect_page() as opened:
        item.dblclick()
    tab = opened.value
    assert f"/notebooks/{folder}/{name}.ipynb" in tab.url, tab.url
    tab.locator(".jp-NotebookPanel").first.wait_for(timeout=60_000)
    assert not tab.locator("#jp-main-statusbar").count()  # Notebook 7's shell, not JupyterLab's
    tab.locator(".jp-KernelName", has_text="Python 3 (ipykernel)").first.wait_for(timeout=60_000)
    wait_idle(tab)
    return tab


def run_all(tab):
    """Edit → Clear Outputs of All Cells (only this run's outputs can match), then Run → Run All Cells,
    from Notebook 7's menu bar."""
    menu(tab, "Edit", "Clear Outputs of All Cells")
    tab.wait_for_function("() => document.querySelectorAll('.jp-OutputArea-output').length === 0", timeout=10_000)
    menu(tab, "Run", "Run All Cells")


def type_codes(tab, secret, button):
    """Two consecutive codes the phone shows (never one typed before), then the form's button."""
    code1, code2 = authenticator_codes(secret, 2)
    tab.locator(".handson-code1 input").press_sequentially(code1)
    tab.locator(".handson-code2 input").press_sequentially(code2)
    tab.locator(f"button.{button}").click()


def type_session_code(tab, secret):
    box = tab.locator(".handson-token-code input")
    box.wait_for(state="visible", timeout=60_000)
    box.press_sequentially(authenticator_codes(secret, 1)[0])
    tab.locator("button.handson-get-session").click()
    tab.locator(".handson-status").get_by_text("一時的な認証情報を取得しました").first.wait_for(timeout=30_000)


def test_run_all_from_preparation_to_cleanup_in_notebook7(page, notebook7, iam, sandbox):
    started = time.monotonic()
    folder = "run_all"
    shutil.copytree(REPO / "notebooks", notebook7.root / folder)
    secret = None
    for name in NOTEBOOKS:
        tab = open_from_tree(page, notebook7, folder, name)
        run_all(tab)
        if name.startswith("22"):
            tab.locator(".handson-code1 input").wait_for(state="visible", timeout=60_000)
            phone = phone_scans_screen(tab, "notebook7_22_qr_shown")  # the probe answered: the QR joined the form
            secret = phone.secret
            enable_with_the_phone(tab, phone)
        elif name.startswith("23"):
            tab.locator("button.handson-resync").wait_for(state="visible", timeout=60_000)
            type_codes(tab, secret, "handson-resync")
        elif name.startswith("40"):
            type_session_code(tab, secret)
        elif name.startswith("45"):
            type_session_code(tab, secret)  # the main device's code, then the backup device's QR
            tab.locator(".handson-code1 input").wait_for(state="visible", timeout=60_000)
            backup = phone_scans_screen(tab, "notebook7_45_qr_shown")
            assert backup.secret != secret
            enable_with_the_phone(tab, backup)
        section_passed(tab, name, f"notebook7_{name}")
        if name.startswith("22"):
            text = save_from_browser(tab, notebook7.root / folder / f"{name}.ipynb")
            assert scan_notebook(json.loads(text)) == [] and scan_text(text) == []
            assert secret not in text and "✔ 完了確認" in text
        tab.close()
        notebook7.shutdown_kernels()
    assert iam.list_users()["Users"] == []
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    print(f"\nNotebook 7 Run All 01→90 took {time.monotonic() - started:.1f} s")
