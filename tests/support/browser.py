"""Chromium for the browser tests and make bench, and the page helpers of the static browser edition.

The JupyterLab and Notebook 7 tests (test_e2e_browser.py) take Chromium and the phone (a QR read off
the screen's pixels) from here; the JupyterLite tests (test_e2e_lite*.py) and ``bench_lite`` also take
the site's pages: a context that reaches nothing outside the site, a notebook opened by URL, a
kernel's input request answered, the QR found on screen.
"""

from __future__ import annotations

import io
import json
import os
import time

import pyotp
import zxingcpp
from PIL import Image

CHROMIUM = os.environ.get("HANDSON_CHROMIUM", "/usr/bin/chromium-headless-shell")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# The static site's Chromium: any host name but the loopback address fails to resolve, so even a
# request the context's route does not see (a service worker's) cannot leave the machine
LITE_ARGS = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
LITE_KERNEL_IDLE = "Python (Pyodide) | Idle"
# The QR in a notebook's output: a plain image output (the typed fallback) or the kit's widget
QR_ON_SCREEN = ".jp-OutputArea-output img, .handson-qr"
SITE_LOAD_MS = 600_000  # a page load starts Pyodide and its kernel: minutes on a loaded 2-core machine


def secret_from_pixels(png_bytes: bytes) -> str:
    """The phone's part: read the QR from what is on screen, not from the file."""
    image = Image.open(io.BytesIO(png_bytes)).convert("L")
    # one QR code on screen; zxing-cpp 3 sometimes reports the same symbol twice (or a spurious other
    # format in its quiet zone), so the texts of QR symbols are counted, not the results
    [text] = {result.text for result in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)}
    assert text.startswith("otpauth://totp/Amazon%20Web%20Services")
    return text.split("secret=")[1].split("&")[0]


def menu(page, top, label):
    """Click a menu item the way a person does: open the menu, click the label."""
    page.locator(".lm-MenuBar-item", has_text=top).first.click()
    item = page.locator(f".lm-Menu-item:has(.lm-Menu-itemLabel:text-is('{label}'))").first
    item.wait_for(state="visible", timeout=10_000)
    item.click()


def close_notebook(page):
    """File → Close and Shut Down, confirmed; returns once the panel has gone. JupyterLab always asks
    (the dialog renders a moment after the click) and disposes the panel only after the kernel has
    shut down: a file opened before that would share the page with the closing one."""
    menu(page, "File", "Close and Shut Down Notebook…")
    page.locator(".jp-Dialog button.jp-mod-accept").first.click(timeout=10_000)
    page.locator(".jp-Dialog").first.wait_for(state="detached", timeout=10_000)
    page.locator(".jp-NotebookPanel").first.wait_for(state="detached", timeout=60_000)


def local_context(browser, origin: str):
    """A new browser context (an empty profile) whose page requests outside ``origin`` are aborted:
    the context, and the list those requests' URLs are added to."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
    refused: list[str] = []

    def route(request_route):
        url = request_route.request.url
        if url == origin or url.startswith(origin + "/"):
            request_route.continue_()
        else:
            refused.append(url)
            request_route.abort()

    context.route("**/*", route)
    return context, refused


def open_lite_notebook(page, origin: str, name: str) -> None:
    """Open ``name`` as a link to the site does (``lab/index.html?path=``): a page load, a new
    kernel; returns once the kernel is idle."""
    page.goto(f"{origin}/lab/index.html?path={name}")
    wait_lite_kernel(page)


def wait_lite_kernel(page) -> None:
    page.locator(".jp-NotebookPanel").first.wait_for(timeout=SITE_LOAD_MS)
    page.get_by_text(LITE_KERNEL_IDLE).first.wait_for(timeout=SITE_LOAD_MS)


# The notebooks JupyterLite will open again at the next page load: its saved layout (the workspace
# in the site's IndexedDB, written a moment after the layout changes)
_RESTORED = """async () => {
  const db = await new Promise((ok, ko) => {
    const r = indexedDB.open('JupyterLite Storage - /'); r.onsuccess = () => ok(r.result); r.onerror = ko; });
  const got = await new Promise((ok, ko) => {
    const r = db.transaction('statedb', 'readonly').objectStore('statedb').get('default');
    r.onsuccess = () => ok(r.result); r.onerror = ko; });
  db.close();
  const dock = got && got.data && got.data['layout-restorer:data'] && got.data['layout-restorer:data'].main.dock;
  return JSON.stringify(dock || {}).match(/notebook:[^"]+/g) || [];
}"""


def close_lite_notebook(page) -> None:
    """File → Close and Shut Down, then wait until the saved layout holds no notebook: else the
    next page load would open this one again, with a second kernel beside the next."""
    close_notebook(page)
    deadline = time.monotonic() + 30
    while page.evaluate(_RESTORED):
        assert time.monotonic() < deadline, f"the layout still restores {page.evaluate(_RESTORED)}"
        time.sleep(0.2)


def answer_stdin(page, text: str, timeout: float = 120_000) -> None:
    """Type ``text`` into the kernel's input box (input/getpass) and press Enter, as a learner
    does; returns once the box has gone (the kernel took the answer)."""
    page.locator(".jp-Stdin-input").first.wait_for(state="visible", timeout=timeout)
    box = page.locator(".jp-Stdin-input").first.element_handle()  # this box, not the next one asked
    box.type(text)
    box.press("Enter")
    box.wait_for_element_state("hidden", timeout=30_000)  # JupyterLab replaces an answered box by a line


def phone_scans(page, timeout: float = 120_000) -> pyotp.TOTP:
    """Wait for the QR on screen (an image output or the kit's widget), then read it off the pixels."""
    qr = page.locator(QR_ON_SCREEN).first
    qr.wait_for(state="visible", timeout=timeout)
    page.wait_for_function(  # drawn: the image loaded, or the widget's SVG has its path
        "s => [...document.querySelectorAll(s)].some(e => { const i = e.tagName === 'IMG' ? e : e.querySelector('img');"
        " return i ? i.complete && i.naturalWidth > 0 : !!e.querySelector('svg path'); })",
        arg=QR_ON_SCREEN,
    )
    qr.scroll_into_view_if_needed()
    return pyotp.TOTP(secret_from_pixels(qr.screenshot()))


# The notebook as JupyterLite keeps it: its contents in IndexedDB (localforage's "files" store)
_STORED = """async name => {
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


def saved_in_the_browser(page, name: str) -> dict:
    """Ctrl+S, as a learner saves; the notebook ``name`` as JupyterLite then keeps it in the browser's
    storage."""
    page.locator(".jp-NotebookPanel-toolbar").first.click()
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.lm-mod-current.jp-mod-dirty')",
                           timeout=30_000)  # fmt: skip
    stored = page.evaluate(_STORED, name)
    assert stored, f"{name} is not in the browser's storage"
    content = json.loads(stored)["content"]
    return content if isinstance(content, dict) else json.loads(content)
