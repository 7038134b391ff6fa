"""The browser edition's QR (issue 27): read back from the device's QR file, drawn as SVG by qrcode's own
factory, shown only in a widget (never an output, which the notebook saves), emptied and closed on every
way out of the typed codes. On CPython: the drawing, its refusals, and the typed fallback of 22 in a
real kernel told it runs in the browser (lite.ACTIVE). The built site in Chromium: test_e2e_lite.py
(22 saved with the QR on screen)."""

import io
import json
import re

import ipywidgets as w
import pytest
import qrcode
import test_e2e_kernel_wait
import zxingcpp
from helpers import DEVICE, USER, make_user_and_device, outfile, phone_codes
from PIL import Image, ImageDraw
from secret_scan import scan_notebook, scan_text
from test_bad_input import iam_state
from test_e2e_kernel_wait import ENABLE_CELL, NEXT_CELL, finished
from test_frontends import FULL_WIDTH, asked, saved_outputs, shows

from handson_helpers import lite
from handson_helpers.errors import HandsonError
from handson_helpers.lite import qr
from handson_helpers.sandbox.faithful import otpauth_uri, qr_png
from handson_helpers.settings import expand
from handson_helpers.totp import validate_codes
from handson_helpers.widget import MfaEnableForm

URI = otpauth_uri(DEVICE, "123456789012", "JBSWY3DPEHPK3PXP" * 4)
kernel = test_e2e_kernel_wait.kernel  # the fixture: a kernel of the given ipykernel version
IN_THE_BROWSER = "from handson_helpers import lite\nlite.ACTIVE = True"


def qrcode_matrix(uri: str) -> list[list[bool]]:
    """qrcode's own modules for uri, drawn as the sandbox draws the device's QR (faithful.qr_png)."""
    code = qrcode.QRCode(border=4, box_size=8, mask_pattern=0)
    code.add_data(uri)
    code.make(fit=True)
    return [[bool(v) for v in row] for row in code.modules]


def svg_squares(svg: str) -> tuple[int, set[tuple[int, int]]]:
    """The dark squares qrcode's SvgPathFillImage drew (x, y in modules, border included) and the side."""
    side = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    path = re.search(r' d="([^"]*)"', svg).group(1)
    squares = re.findall(r"M(\d+),(\d+)H(\d+)V(\d+)H\d+z", path)
    assert path == "".join(f"M{x},{y}H{x1}V{y1}H{x}z" for x, y, x1, y1 in squares)  # nothing else drawn
    assert all(int(x1) - int(x) == 1 and int(y1) - int(y) == 1 for x, y, x1, y1 in squares)
    return side, {(int(x), int(y)) for x, y, _, _ in squares}


def test_the_svg_holds_the_modules_of_the_qr_file_and_reads_back_as_its_uri():
    png = qr_png(URI)
    assert qr.modules(png) == qrcode_matrix(URI)
    svg = qr.svg_of_png(png)
    side, dark = svg_squares(svg)
    count = len(qrcode_matrix(URI))
    assert side == count + 2 * qr.BORDER
    assert dark == {
        (c + qr.BORDER, r + qr.BORDER) for r, row in enumerate(qrcode_matrix(URI)) for c, v in enumerate(row) if v
    }
    assert f'width="{side * qr.PIXELS_PER_MODULE}px"' in svg and 'fill="white"' in svg
    # The squares, painted as a browser paints them, scan as the device's otpauth URI
    image = Image.new("L", (side * 6, side * 6), 255)
    draw = ImageDraw.Draw(image)
    for x, y in dark:
        draw.rectangle((x * 6, y * 6, x * 6 + 5, y * 6 + 5), fill=0)
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [URI]


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _kit_image() -> Image.Image:
    return Image.open(io.BytesIO(qr_png(URI))).convert("1")


def _flipped(x: int, y: int) -> bytes:
    image = _kit_image()
    image.putpixel((x, y), 255 - image.getpixel((x, y)))
    return _png(image)


def _corrupt_crc() -> bytes:
    png = bytearray(qr_png(URI))
    png[40] ^= 0xFF  # inside IDAT
    return bytes(png)


@pytest.mark.parametrize(
    "data, problem",
    [
        (b"not a png at all", "PNG画像として壊れています"),
        (qr_png(URI)[:200], "PNG画像として壊れています"),
        (_corrupt_crc(), "PNG画像として壊れています"),
        (_png(_kit_image().convert("RGB")), "キットが描いた"),  # colour: not the kit's drawing
        (_png(_kit_image().resize((400, 400))), "キットが描いた"),  # not a whole number of pixels per module
        (_flipped(4 * 8 + 3, 4 * 8 + 3 + 8 * 10), "キットが描いた"),  # one pixel inside a module
        (_flipped(2, 2), "キットが描いた"),  # a dark pixel in the quiet zone
        (_png(Image.new("1", (392, 392), 255)), "キットが描いた"),  # no QR
    ],
    ids=["text", "truncated", "crc", "rgb", "rescaled", "pixel-in-module", "quiet-zone", "blank"],
)
def test_a_file_that_is_not_the_kits_qr_is_refused_in_japanese(data, problem):
    with pytest.raises(HandsonError) as refused:
        qr.svg_of_png(data)
    assert refused.value.code == "QrNotDrawable"
    assert problem in refused.value.message and "21_create_virtual_mfa_device" in refused.value.message


def test_in_the_browser_the_qr_widget_is_html_svg_and_its_text_form_holds_nothing(monkeypatch):
    monkeypatch.setattr(lite, "ACTIVE", True)
    form = MfaEnableForm(USER, "arn:aws:iam::123456789012:mfa/x", qr_png(URI), lambda c1, c2: "enabled")
    view = form.secret_widget()
    assert isinstance(view, w.HTML) and "handson-qr" in view._dom_classes
    assert view.value.startswith("<svg") and svg_squares(view.value)[1]
    bundle = view._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "application/vnd.jupyter.widget-view+json"}
    assert "<svg" not in bundle["text/plain"] and "svg" not in json.dumps(bundle)
    form.cancel()
    assert view.value == "" and view.comm is None  # emptied, then closed


# The typed fallback of 22 in a real kernel (ipykernel 7.4) running as the browser edition does


def start_in_the_browser(k, ctx, tmp_path):
    qr_file = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr_file)
    k.run(
        f"import handson_helpers as hh\nctx = hh.connect()\n{IN_THE_BROWSER}\n"
        f"IAM_USER_NAME, MFA_DEVICE_SERIAL, FILE_MFA_OUTFILE = {USER!r}, {serial!r}, {qr_file!r}"
    )
    cell = k.kc.execute(ENABLE_CELL)
    queued = k.kc.execute(NEXT_CELL)
    assert asked(k) == {"prompt": "認証コード(1回目): ", "password": True}
    return cell, queued, qr_file


def qr_widget(k) -> tuple[str, str]:
    """The comm id and the SVG of the QR's widget (the one given the class handson-qr), as the page got it."""
    msg = k.wait_for(
        lambda m: (
            m["msg_type"] in ("comm_open", "comm_msg")
            and "handson-qr" in m["content"]["data"].get("state", {}).get("_dom_classes", [])
        )
    )
    comm = msg["content"]["comm_id"]
    opened = next(m for m in k.iopub if m["msg_type"] == "comm_open" and m["content"]["comm_id"] == comm)
    return comm, opened["content"]["data"]["state"]["value"]


def check_gone_and_never_an_output(k, cell: str, comm: str, *codes: str) -> None:
    """The widget was emptied, then closed; no output of the cell ever held the QR, the key or the codes."""
    updates = [
        m for m in k.iopub if m["content"].get("comm_id") == comm and m["msg_type"] in ("comm_msg", "comm_close")
    ]
    assert updates and updates[-1]["msg_type"] == "comm_close"
    assert [m["content"]["data"]["state"] for m in updates if m["msg_type"] == "comm_msg"][-1] == {"value": ""}
    outputs = [m["content"] for m in k.iopub if m["parent_header"].get("msg_id") == cell and "data" in m["content"]]
    outputs = [o for o in outputs if "comm_id" not in o]  # display_data and update_display_data
    assert outputs and all(
        set(o["data"]) <= {"text/plain", "text/html", "application/vnd.jupyter.widget-view+json"} for o in outputs
    )
    shown = json.dumps(outputs, ensure_ascii=False)
    assert "<svg" not in shown and "<path" not in shown and "base64" not in shown
    assert scan_text(shown) == [] and not [c for c in codes if c in shown]
    notebook = {"cells": [{"outputs": saved_outputs(k, cell)}]}
    assert scan_notebook(notebook) == []
    # The saved outputs end as text: the widget's output was replaced by a line
    assert not [o for o in saved_outputs(k, cell) if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    first = next(o for o in saved_outputs(k, cell) if o["output_type"] == "display_data")
    assert set(first["data"]) == {"text/plain"}  # the cell's first output is a text line


@pytest.mark.parametrize("kernel", ["7.4"], indirect=True)
def test_wrong_codes_then_right_ones_the_qr_stays_for_the_retry_then_goes(kernel, ctx, iam, tmp_path):
    k = kernel
    cell, queued, qr_file = start_in_the_browser(k, ctx, tmp_path)
    comm, svg = qr_widget(k)
    assert qr.svg_of_png(expand(qr_file).read_bytes()) == svg  # the device's own QR, from its file
    before = iam_state(iam)
    k.kc.input("123456")
    asked(k)
    k.kc.input("654321")
    assert asked(k)["prompt"] == "認証コード(1回目): "
    shows(k, cell, "認証コードが正しくありません")
    assert iam_state(iam) == before
    assert not [m for m in k.iopub if m["content"].get("comm_id") == comm and m["msg_type"] == "comm_close"]
    code1, code2 = phone_codes(qr_file)
    k.kc.input(code1.translate(FULL_WIDTH))
    asked(k)
    k.kc.input(code2)
    shown, next_shown = finished(k, cell, queued)
    assert "仮想MFAデバイスの有効化が完了しました" in shown and next_shown.strip() == "next cell: enabled"
    check_gone_and_never_an_output(k, cell, comm, code1, code2)


def _empty_answer(k, qr_file):
    k.kc.input("")


def _interrupt_after_one_code(k, qr_file):
    k.kc.input(phone_codes(qr_file)[0])
    asked(k)
    k.km.interrupt_kernel()


@pytest.mark.parametrize("kernel", ["7.4"], indirect=True)
@pytest.mark.parametrize("leave", [_empty_answer, _interrupt_after_one_code], ids=["empty-answer", "interrupt"])
def test_leaving_the_typed_form_removes_the_qr(kernel, ctx, iam, tmp_path, leave):
    """Cancelled by an empty answer, or ■ while the kernel asks for the second code: nothing changes."""
    k = kernel
    cell, queued, qr_file = start_in_the_browser(k, ctx, tmp_path)
    comm, _ = qr_widget(k)
    before = iam_state(iam)
    leave(k, qr_file)
    shown, next_shown = finished(k, cell, queued)
    assert "有効化はキャンセルされました" in shown and next_shown.strip() == "next cell: cancelled"
    assert iam_state(iam) == before
    check_gone_and_never_an_output(k, cell, comm)


@pytest.mark.parametrize("kernel", ["7.4"], indirect=True)
def test_a_qr_file_that_cannot_be_drawn_stops_the_cell_with_the_reason(kernel, ctx, iam, tmp_path):
    k = kernel
    qr_file = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr_file)
    path = expand(qr_file)
    path.write_bytes(_png(Image.open(path).convert("RGB")))  # still a PNG of ours, not the kit's drawing
    k.run(
        f"import handson_helpers as hh\nctx = hh.connect()\n{IN_THE_BROWSER}\n"
        f"IAM_USER_NAME, MFA_DEVICE_SERIAL, FILE_MFA_OUTFILE = {USER!r}, {serial!r}, {qr_file!r}"
    )
    before = iam_state(iam)
    cell = k.kc.execute(ENABLE_CELL)
    assert k.reply(cell)["content"]["status"] == "error"
    k.wait_for(lambda m: m["parent_header"].get("msg_id") == cell and m["content"].get("execution_state") == "idle")
    assert "キットが描いたQRコードの画像ではありません" in k.text(cell)
    assert iam_state(iam) == before
    assert "handson-qr" not in json.dumps([m["content"] for m in k.iopub])


def test_the_secret_scan_finds_the_qr_as_svg_in_an_output_or_a_saved_widget_state():
    svg = qr.svg_of_png(qr_png(URI))
    assert scan_notebook({"cells": [{"outputs": [{"data": {"image/svg+xml": svg}}]}]})
    assert scan_notebook({"cells": [{"outputs": [{"data": {"text/html": f"<div>{svg}</div>"}}]}]})
    assert scan_notebook({"metadata": {"widgets": {"state": {"m": {"state": {"value": svg}}}}}, "cells": []})


def test_in_the_browser_a_key_instead_of_a_qr_is_in_the_same_widget_and_its_text_form_holds_nothing(monkeypatch):
    monkeypatch.setattr(lite, "ACTIVE", True)
    key = "JBSWY3DPEHPK3PXP" * 4
    form = MfaEnableForm(USER, "arn:aws:iam::123456789012:mfa/x", key.encode(), lambda c1, c2: validate_codes(c1, c2))
    view = form.secret_widget()
    assert "handson-qr" in view._dom_classes and key[:4] + " " + key[4:8] in view.value
    assert view._repr_mimebundle_()["text/plain"] == "(キー: 認証アプリに入力してください)"
    form.submit()  # no codes typed: refused, the key stays for the retry
    assert view.value and view.comm is not None
    form.cancel()
    assert view.value == "" and view.comm is None


@pytest.mark.parametrize("widgets", [None, {"saveState": True}, {"saveState": False}], ids=["unset", "true", "false"])
def test_the_build_refuses_a_site_that_would_save_widget_state(tmp_path, widgets):
    from tests.support import lite_build

    (tmp_path / "static" / "pyodide").mkdir(parents=True)
    (tmp_path / "static" / "pyodide" / "pyodide.asm.wasm").write_bytes(b"\0asm")
    kernel_settings = {lite_build.SETTINGS: {"pyodideUrl": "./static/pyodide/pyodide.mjs", "disablePyPIFallback": True}}
    config = {"litePluginSettings": kernel_settings}
    if widgets is not None:
        config["settingsOverrides"] = {lite_build.WIDGETS: widgets}
    (tmp_path / "jupyter-lite.json").write_text(json.dumps({"jupyter-config-data": config}))
    if widgets == {"saveState": False}:
        lite_build._check(tmp_path)
    else:
        with pytest.raises(SystemExit, match="widget state would be saved"):
            lite_build._check(tmp_path)
