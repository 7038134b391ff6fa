"""The static browser edition (make lite) in a real Chromium, as a learner uses it: 01 → 90, with
the optional 23 and 45 on the way.

The built site (artifacts/lite) is served by ``python -m http.server`` on a loopback port; Chromium
reaches nothing else (the context aborts and counts any other request, and no other host name
resolves). Each notebook is opened by its link, so each is a page load with a new Pyodide kernel:
what carries the hands-on from one to the next is the browser's storage (the kernel's drive), and
the test reloads the page twice more to show it (after 21, and inside 40 while it asks for a code).
The codes are typed where the kernel asks (the forms' typed fallback: no click reaches a running cell
there), computed from the QR read off the screen's pixels. With the QR on screen the learner presses
Ctrl+S: the notebook JupyterLite stores holds no seed, no QR picture and no widget state.
"""

import json
import re
import time
from pathlib import Path

import pytest
from secret_scan import scan_notebook, scan_text
from test_e2e_browser import FULL_WIDTH, menu, run_all, section_passed, shot

from handson_helpers.texts.forms import RESYNC_DONE, RESYNCED
from handson_helpers.totp import authenticator_codes
from tests.support.browser import (
    CHROMIUM,
    LITE_ARGS,
    QR_ON_SCREEN,
    answer_stdin,
    close_lite_notebook,
    local_context,
    open_lite_notebook,
    phone_scans,
    saved_in_the_browser,
    wait_lite_kernel,
)
from tests.support.lite_build import served

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "artifacts" / "lite"
WRONG_PAIR = "認証コードが正しくありません(IAMが受け付けませんでした)。何も変更されていません。"
pytestmark = pytest.mark.xdist_group("lite")
RUN_MS = 300_000  # a notebook's Run All in Pyodide, on a loaded 2-core machine


@pytest.fixture(scope="module")
def site():
    if not (SITE / ".built").exists():
        pytest.fail(f"{SITE} is not built: run `make lite` (make test builds it first)")
    with served(SITE) as origin:
        yield origin


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it with `apt-get install chromium-headless-shell`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LITE_ARGS, headless=True)
        yield browser
        browser.close()


def passed(page, name, **kwargs):
    """``section_passed`` for this site: the typed fallback expected, Pyodide's pace."""
    return "\n".join(section_passed(page, name, f"lite_{name}", typed=True, timeout=RUN_MS, **kwargs))


def run(page, origin, name):
    open_lite_notebook(page, origin, f"{name}.ipynb")
    run_all(page)


def leave(page, name, secrets):
    """Ctrl+S, File → Download (as a learner keeps a copy: the file holds no secret), then Close and
    Shut Down, so that the next page load restores no other notebook and kernel."""
    page.locator(".jp-NotebookPanel").first.click()
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=30_000)
    with page.expect_download() as download:
        menu(page, "File", "Download")
    text = Path(download.value.path()).read_text()
    assert "✔ 完了確認" in text, name
    assert scan_notebook(json.loads(text)) == [] and scan_text(text) == [], name
    assert not [s for s in secrets if s in text], name
    close_lite_notebook(page)


def test_a_learner_runs_01_to_90_in_the_static_site(browser, site):
    started = time.monotonic()
    context, refused = local_context(browser, site)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page?" on a reload with unsaved outputs
    typed: list[str] = []  # everything the learner typed: none of it may stay in a file or an output
    try:
        for name in ("01_preparation", "10_create_iam_user", "21_create_virtual_mfa_device"):
            run(page, site, name)
            passed(page, name)
            if not name.startswith("21"):
                leave(page, name, typed)

        # A reload before 22: the new kernel finds 21's device and QR file in the browser's storage
        page.reload()
        wait_lite_kernel(page)
        run_all(page)
        page.get_by_text("とQRコードファイルは既に作成済みです。何も変更していません。").first.wait_for(timeout=RUN_MS)
        passed(page, "21_after_reload")
        leave(page, "21", typed)

        run(page, site, "22_enable_virtual_mfa_device")
        phone = phone_scans(page, timeout=RUN_MS)
        shot(page, "lite_22_qr_shown")
        page.locator(".jp-Stdin-input").first.wait_for(state="visible", timeout=60_000)
        assert page.locator(".handson-qr svg").count() == 1 and page.locator(".jp-OutputArea-output img").count() == 0
        # Ctrl+S with the QR on screen: this run's 22 (the typed fallback's note, the QR widget's
        # output, whose text says only what it is) holds no seed, no picture and no widget state
        notebook = saved_in_the_browser(page, "22_enable_virtual_mfa_device.ipynb")
        text = json.dumps(notebook, ensure_ascii=False)
        assert "クリックをカーネルに届けない" in text and "(QRコード: 認証アプリで読み取ってください)" in text
        assert scan_notebook(notebook) == [] and scan_text(text) == [] and phone.secret not in text
        assert not re.search(r"otpauth|image/(png|svg)|<svg|<path|handson-qr", text)
        assert "widgets" not in notebook.get("metadata", {})
        for code in ("123456", "654321"):  # a wrong pair: refused, nothing changed, asked again
            answer_stdin(page, code)
        page.get_by_text(WRONG_PAIR).first.wait_for(timeout=60_000)
        page.locator(".jp-Stdin-input").first.wait_for(state="visible", timeout=60_000)
        assert page.locator(QR_ON_SCREEN).count(), "the QR left the screen before the codes were taken"
        shot(page, "lite_22_wrong_pair")
        code1, code2 = authenticator_codes(phone.secret, 2)  # the phone's next two codes
        typed += [phone.secret, code1, code2]
        answer_stdin(page, code1.translate(FULL_WIDTH))  # typed with an IME
        answer_stdin(page, code2)
        outputs = passed(page, "22_enable_virtual_mfa_device", refused=WRONG_PAIR)
        assert outputs.count("✘") == 1  # the wrong pair's line, and no other
        assert re.search(r"✔ 完了確認: IAMユーザー\"[^\"]+\"のMFAが有効になっている", outputs), outputs
        assert "既に有効化されています" not in outputs  # the wrong pair had enabled nothing
        assert page.locator(QR_ON_SCREEN).count() == 0  # the QR is replaced by a line once the codes are taken
        leave(page, "22", typed)

        run(page, site, "23_resync_virtual_mfa_device")  # the phone's next two consecutive codes
        for code in authenticator_codes(phone.secret, 2):
            typed.append(code)
            answer_stdin(page, code, timeout=RUN_MS)
        outputs = passed(page, "23_resync_virtual_mfa_device")
        assert RESYNCED in outputs or RESYNC_DONE in outputs, outputs
        leave(page, "23", typed)

        run(page, site, "31_create_access_key")
        outputs = passed(page, "31_create_access_key")
        assert "のアクセスキーが有効(Active)" in outputs
        leave(page, "31", typed)

        # 40, reloaded while it asks for the session code: run again, it goes on from the stored state
        run(page, site, "40_mfa_protected_access")
        page.locator(".jp-Stdin-input").first.wait_for(state="visible", timeout=RUN_MS)
        page.reload()
        wait_lite_kernel(page)
        run_all(page)
        [code] = authenticator_codes(phone.secret, 1)
        typed.append(code)
        answer_stdin(page, code, timeout=RUN_MS)
        outputs = passed(page, "40_mfa_protected_access")
        assert "✔ 完了確認: アクセスキーだけでは拒否され、MFAで取得した一時的な認証情報では成功する" in outputs
        leave(page, "40", typed)

        # 45: the main device's code for a session, then the backup device's QR and its two codes
        run(page, site, "45_add_backup_mfa_device")
        [code] = authenticator_codes(phone.secret, 1)
        typed.append(code)
        answer_stdin(page, code, timeout=RUN_MS)
        backup = phone_scans(page, timeout=RUN_MS)
        assert backup.secret != phone.secret
        page.locator(".jp-Stdin-input").first.wait_for(state="visible", timeout=60_000)
        assert page.locator(".jp-OutputArea-output img").count() == 0  # the QR only in the live widget
        codes = authenticator_codes(backup.secret, 2)
        typed += [backup.secret, *codes]
        for code in codes:
            answer_stdin(page, code)
        outputs = passed(page, "45_add_backup_mfa_device")
        assert re.search(r"✔ 完了確認: IAMユーザー\"[^\"]+\"にMFAデバイスが2つ", outputs), outputs
        assert page.locator(QR_ON_SCREEN).count() == 0
        leave(page, "45", typed)

        run(page, site, "90_cleanup")
        outputs = passed(page, "90_cleanup")
        for gone in (r"IAMユーザー\"[^\"]+\"が存在しない", r"仮想MFAデバイス\"[^\"]+\"が存在しない"):
            assert re.search(f"✔ 完了確認: {gone}", outputs), outputs
        leave(page, "90", typed)
    finally:
        shot(page, "lite_last")
        context.close()
    assert refused == [], refused  # the site needed nothing from outside it
    print(f"\nthe static site, 01 → 90 with two reloads: {time.monotonic() - started:.0f} s")
