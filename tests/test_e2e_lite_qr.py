"""The static site's QR in a real Chromium (issue 27): shown only in a widget, never saved.

The built site (artifacts/lite) served by ``python -m http.server``; Chromium reaches nothing else. 01,
10 and 21 run as a learner runs them (each a page load; the state is in the browser's storage), then
22: while its QR is on screen the learner presses Ctrl+S, and the notebook JupyterLite stored in the
browser (IndexedDB) holds no seed, no otpauth URI, no QR image and no widget state. The QR read off
the screen's pixels gives the codes; once they are typed the QR is gone from the page.
"""

import json
import os
import re
import time
from pathlib import Path

import pytest
from secret_scan import scan_notebook, scan_text
from test_e2e_browser import CHROMIUM, CHROMIUM_ARGS, FULL_WIDTH, menu, secret_from_pixels, shot

from handson_helpers.totp import authenticator_codes
from tests.support.lite_build import served

SITE = Path(__file__).resolve().parents[1] / "artifacts" / "lite"
NOTEBOOK = "22_enable_virtual_mfa_device.ipynb"
IDLE = "Python (Pyodide) | Idle"
LOAD_MS = 600_000  # a page load starts Pyodide: minutes on a loaded 2-core machine
RUN_MS = 300_000  # a notebook's Run All in Pyodide
pytestmark = pytest.mark.xdist_group("lite")

# The notebook as JupyterLite keeps it: its contents live in IndexedDB (localforage's "files" store)
STORED = """async name => {
  const names = (await indexedDB.databases()).map(d => d.name).filter(n => n && n.includes('JupyterLite Storage'));
  for (const db of names) {
    const found = await new Promise((done, fail) => {
      const open = indexedDB.open(db);
      open.onerror = () => fail(open.error);
      open.onsuccess = () => {
        const d = open.result;
        if (!d.objectStoreNames.contains('files')) { d.close(); return done(null); }
        const get = d.transaction('files').objectStore('files').get(name);
        get.onsuccess = () => { d.close(); done(get.result ? JSON.stringify(get.result) : null); };
        get.onerror = () => { d.close(); fail(get.error); };
      };
    });
    if (found) return found;
  }
  return null;
}"""


@pytest.fixture(scope="module")
def site():
    if not (SITE / "jupyter-lite.json").exists():
        pytest.fail(f"{SITE} is not built: run `make lite`")
    with served(SITE) as origin:
        yield origin


@pytest.fixture
def page(site):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it with `apt-get install chromium-headless-shell`")
    from playwright.sync_api import sync_playwright

    rules = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"  # nothing but the site resolves
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, rules], headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
        outside: list[str] = []

        def only_the_site(route):
            url = route.request.url
            if url.startswith(site + "/"):
                route.continue_()
            else:
                outside.append(url)
                route.abort()

        context.route("**/*", only_the_site)
        page = context.new_page()
        try:
            yield page
        finally:
            shot(page, "lite_qr_last")
            browser.close()
        assert outside == [], outside


SHOWN = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in front (the site reopens earlier ones)


def open_and_run(page, site, name):
    """Open ``name`` by its link (a page load: a new kernel), clear its stored outputs, Run All."""
    page.goto(f"{site}/lab/index.html?path={name}")
    page.get_by_text(IDLE).first.wait_for(timeout=LOAD_MS)
    page.locator(f"{SHOWN} .jp-Notebook").first.wait_for(timeout=LOAD_MS)
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(f"() => document.querySelectorAll('{SHOWN} .jp-OutputArea-output').length === 0",
                           timeout=10_000)  # fmt: skip
    menu(page, "Run", "Run All Cells")


def checked(page, name):
    """The notebook's 完了確認 shows ✔ and the kernel is idle again."""
    page.locator(SHOWN).get_by_text("✔ 完了確認").first.wait_for(timeout=RUN_MS)
    page.get_by_text(IDLE).first.wait_for(timeout=RUN_MS)
    outputs = "\n".join(page.locator(f"{SHOWN} .jp-OutputArea-output").all_inner_texts())
    assert "✘" not in outputs, (name, outputs)
    return outputs


def saved_in_the_browser(page) -> dict:
    """Ctrl+S, as a learner saves; the notebook as JupyterLite then keeps it in the browser's storage."""
    page.locator(f"{SHOWN} .jp-NotebookPanel-toolbar").first.click()
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.lm-mod-current.jp-mod-dirty')",
                           timeout=30_000)  # fmt: skip
    stored = page.evaluate(STORED, NOTEBOOK)
    assert stored, "the saved notebook is not in the browser's storage"
    return json.loads(stored)


def answer(page, text):
    """Type into the kernel's input box (getpass) and press Enter; wait until the kernel took it."""
    box = page.locator(".jp-Stdin-input").first
    box.wait_for(state="visible", timeout=120_000)
    element = box.element_handle()
    element.type(text)
    element.press("Enter")
    page.wait_for_function("e => !e.isConnected", arg=element, timeout=30_000)  # the next ask is another box


def test_the_qr_is_shown_as_svg_in_a_widget_and_never_saved(page, site):
    started = time.monotonic()
    for name in ("01_preparation", "10_create_iam_user", "21_create_virtual_mfa_device"):
        open_and_run(page, site, f"{name}.ipynb")
        checked(page, name)

    open_and_run(page, site, NOTEBOOK)
    qr = page.locator(".handson-qr").first
    qr.wait_for(state="visible", timeout=RUN_MS)
    page.locator(".jp-Stdin-input").first.wait_for(state="visible", timeout=60_000)
    assert page.locator(".handson-qr svg").count() == 1 and page.locator(".jp-OutputArea-output img").count() == 0
    qr.scroll_into_view_if_needed()
    secret = secret_from_pixels(qr.screenshot())  # the phone scans the screen
    shot(page, "lite_qr_shown")

    model = saved_in_the_browser(page)  # Ctrl+S with the QR on screen
    notebook = model["content"] if isinstance(model.get("content"), dict) else json.loads(model["content"])
    text = json.dumps(notebook, ensure_ascii=False)
    # This run's 22, saved while the QR was on screen: the typed fallback's note and the widget's output,
    # whose text says only what it is
    assert "クリックをカーネルに届けない" in text and "(QRコード: 認証アプリで読み取ってください)" in text
    assert scan_notebook(notebook) == [] and scan_text(text) == []
    assert secret not in text and "otpauth" not in text
    assert not re.search(r"image/(png|svg)|<svg|<path|handson-qr", text)
    assert "widgets" not in notebook.get("metadata", {})  # no widget state saved

    code1, code2 = authenticator_codes(secret, 2)
    answer(page, code1.translate(FULL_WIDTH))
    answer(page, code2)
    outputs = checked(page, "22_enable_virtual_mfa_device")
    assert "仮想MFAデバイスの有効化が完了しました" in outputs
    assert page.locator(".handson-qr").count() == 0 and page.locator(".jp-OutputArea-output svg path").count() == 0
    notebook = saved_in_the_browser(page)["content"]
    notebook = notebook if isinstance(notebook, dict) else json.loads(notebook)
    text = json.dumps(notebook, ensure_ascii=False)
    assert scan_notebook(notebook) == [] and secret not in text and code1 not in text and code2 not in text
    assert "widgets" not in notebook.get("metadata", {})
    print(f"\n01, 10, 21, 22 in the static site: {time.monotonic() - started:.0f} s ({os.cpu_count()} cores)")
