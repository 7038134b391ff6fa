"""Front ends that never deliver a form's clicks while its cell runs (VS Code, nbclient/papermill,
JupyterLite): the form notices within seconds and asks for the codes in text instead.

A real kernel on its own channels, the test playing a front end that renders nothing and sends no
widget message back, but answers the kernel's input requests (stdin), as VS Code does; then the
notebooks 01 → 90 run headless by nbclient, with a learner at stdin typing the phone's codes, in this
venv's kernel and in Colab's kernel stack (.venv-colab: ipykernel 6.17, IPython 7.34, ipywidgets 7.7).
"""

import asyncio
import base64
import json
import platform
import shutil
import time
from pathlib import Path

import nbformat
import pytest
import test_e2e_kernel_wait
from helpers import USER, AsyncIPCKernelManager, make_user_and_device, outfile, phone_code, phone_codes
from nbclient import NotebookClient
from secret_scan import scan_notebook, scan_text
from test_bad_input import iam_state
from test_e2e_kernel_wait import COLAB_PYTHON, REPO, finished, start_waiting_cell

import handson_helpers as hh
from handson_helpers import totp
from handson_helpers.cell_wait import PROBE_SECONDS
from handson_helpers.run import NOTEBOOKS, notebooks
from handson_helpers.settings import expand

kernel = test_e2e_kernel_wait.kernel  # the fixture: a kernel of the given ipykernel version
# ipykernel 7.4 (.venv), 6.31 (.venv-ipykernel6) and Colab's stack (.venv-colab: ipykernel 6.17, ipywidgets 7.7)
EVERY_KERNEL = pytest.mark.parametrize(
    "kernel", ["7.4", "6.31", "6.17"], ids=["ipykernel7.4", "ipykernel6.31", "colab"], indirect=True
)
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def saved_outputs(k, cell: str) -> list[dict]:
    """The cell's outputs as a front end keeps them for the saved notebook: a display updated by
    its id is replaced in place (as JupyterLab, VS Code and nbclient do)."""
    outputs, by_id = [], {}
    for m in k.iopub:
        if m["parent_header"].get("msg_id") != cell:
            continue
        kind, content = m["msg_type"], m["content"]
        display_id = content.get("transient", {}).get("display_id")
        if kind == "update_display_data":
            for i in by_id.get(display_id, []):
                outputs[i] = {"output_type": "display_data", "data": content["data"], "metadata": {}}
        elif kind in ("display_data", "stream", "error"):
            if display_id:
                by_id.setdefault(display_id, []).append(len(outputs))
            outputs.append({"output_type": kind, **{key: v for key, v in content.items() if key != "transient"}})
    return outputs


def asked(k, timeout: float = PROBE_SECONDS + 30) -> dict:
    """The kernel's next input request (what a front end with an input box shows)."""
    return k.kc.get_stdin_msg(timeout=timeout)["content"]


def shows(k, cell: str, text: str) -> None:
    """Wait until the cell has shown text (iopub and stdin are separate channels)."""
    k.wait_for(
        lambda m: m["parent_header"].get("msg_id") == cell and text in json.dumps(m["content"], ensure_ascii=False)
    )


def qr_on_screen(k, cell: str) -> bytes:
    """The QR as the learner sees it now: the PNG of the cell's displays, updates applied."""
    shows(k, cell, "image/png")
    [png] = [o["data"]["image/png"] for o in saved_outputs(k, cell) if "image/png" in o.get("data", {})]
    return base64.b64decode(png)


def check_nothing_secret_kept(k, cell: str, *codes: str) -> None:
    notebook = {"cells": [{"outputs": saved_outputs(k, cell)}]}
    text = json.dumps(notebook, ensure_ascii=False)
    assert scan_notebook(notebook) == [] and scan_text(text) == []
    assert not [code for code in codes if code in text]


@pytest.mark.parametrize(
    "kernel", ["7.4", "6.31", "6.17"], ids=["ipykernel7.4", "ipykernel6.31", "colab"], indirect=True
)
def test_no_clicks_arrive_so_the_codes_are_typed_a_wrong_pair_then_a_right_one(kernel, ctx, iam, tmp_path):
    k = kernel
    started = time.monotonic()
    cell, queued, qr = start_waiting_cell(k, ctx, tmp_path, front_end=False)
    before = iam_state(iam)
    request = asked(k)
    assert request == {"prompt": "認証コード(1回目): ", "password": True}  # never echoed into the notebook
    assert time.monotonic() - started < PROBE_SECONDS + 20
    shows(k, cell, "フォームのクリックをカーネルに届けない")
    # The QR is shown where the learner is, in the form's place, and it is the device's
    assert qr_on_screen(k, cell) == expand(qr).read_bytes()
    k.kc.input("123456")
    assert asked(k)["prompt"] == "認証コード(2回目): "
    k.kc.input("654321")
    assert asked(k)["prompt"] == "認証コード(1回目): "  # asked again
    shows(k, cell, "認証コードが正しくありません")
    assert iam_state(iam) == before
    assert qr_on_screen(k, cell)  # still there for the retry
    code1, code2 = phone_codes(qr)
    k.kc.input(" " + code1.translate(FULL_WIDTH))
    asked(k)
    k.kc.input(code2)

    shown, next_shown = finished(k, cell, queued)
    assert "仮想MFAデバイスの有効化が完了しました" in shown and next_shown.strip() == "next cell: enabled"
    assert iam.list_mfa_devices(UserName=USER)["MFADevices"]
    assert not [o for o in saved_outputs(k, cell) if "image/png" in o.get("data", {})]
    check_nothing_secret_kept(k, cell, code1, code2)
    # The QR never became a widget: nothing for a front end to keep in a saved widget state
    assert not [m for m in k.iopub if m["msg_type"] == "comm_open" and "Image" in json.dumps(m["content"])]


@pytest.mark.parametrize(
    "kernel", ["7.4", "6.31", "6.17"], ids=["ipykernel7.4", "ipykernel6.31", "colab"], indirect=True
)
def test_interrupt_while_the_kernel_asks_enables_nothing_and_removes_the_qr(kernel, ctx, iam, tmp_path):
    k = kernel
    cell, queued, qr = start_waiting_cell(k, ctx, tmp_path, front_end=False)
    before = iam_state(iam)
    asked(k)
    assert qr_on_screen(k, cell) == expand(qr).read_bytes()
    k.kc.input(phone_codes(qr)[0])  # one code typed, then ■ before the second
    asked(k)
    k.km.interrupt_kernel()

    shown, next_shown = finished(k, cell, queued)
    assert "有効化はキャンセルされました" in shown and next_shown.strip() == "next cell: cancelled"
    assert iam_state(iam) == before
    assert not [o for o in saved_outputs(k, cell) if "image/png" in o.get("data", {})]
    check_nothing_secret_kept(k, cell)


SESSION_CELL = next(
    c.source
    for c in nbformat.read(NOTEBOOKS / "40_mfa_protected_access.ipynb", as_version=4).cells
    if c.cell_type == "code" and "session_with_form" in c.source
)


@pytest.mark.parametrize(
    "kernel", ["7.4", "6.31", "6.17"], ids=["ipykernel7.4", "ipykernel6.31", "colab"], indirect=True
)
def test_40_gets_its_session_from_a_typed_code_after_a_wrong_one(kernel, ctx, iam, tmp_path):
    k = kernel
    qr, key_file = outfile(tmp_path), str(tmp_path / "key.txt")
    serial = make_user_and_device(ctx, qr)
    assert hh.enable_mfa_device(ctx, USER, serial, *phone_codes(qr)) == "enabled"
    hh.create_access_key(ctx, USER, key_file)
    k.run(
        "import handson_helpers as hh\nctx = hh.connect()\n"
        f"USER_KEYS = hh.user_keys(ctx, {key_file!r})\nMFA_DEVICE_SERIAL, FILE_MFA_OUTFILE = {serial!r}, {qr!r}"
    )
    cell = k.kc.execute(SESSION_CELL)
    queued = k.kc.execute("print('next cell:', SESSION.key_id[:4])")
    assert asked(k) == {"prompt": "認証コード: ", "password": True}
    shows(k, cell, "フォームのクリックをカーネルに届けない")
    k.kc.input("123456")
    assert asked(k)["prompt"] == "認証コード: "  # refused, asked again
    code = phone_code(totp.secret_from_qr(expand(qr)))
    k.kc.input(code)

    shown, next_shown = finished(k, cell, queued)
    assert next_shown.strip() == "next cell: ASIA", shown
    check_nothing_secret_kept(k, cell, code)


def test_in_colab_the_fallback_shows_the_key_as_text_not_an_image_before_it_asks(ctx, iam, tmp_path):
    """Colab's input box is reported never to appear after an image output (colabtools issue 2889):
    there the fallback shows the QR's key as text, then asks. Colab's front end cannot run here: its
    kernel stack (.venv-colab) runs the cell, marked as Colab's the way the kit recognises it
    (google.colab loaded, as Colab's own kernel loads it before any cell)."""
    from test_e2e_kernel_wait import Kernel

    k = Kernel("6.17", tmp_path)
    try:
        k.check_version()
        k.run("import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')")
        cell, queued, qr = start_waiting_cell(k, ctx, tmp_path, front_end=False)
        assert asked(k)["prompt"] == "認証コード(1回目): "
        shows(k, cell, "QRコードの代わりにキーを表示します")
        secret = totp.secret_from_qr(expand(qr))
        [key_shown] = [o["data"]["text/plain"] for o in saved_outputs(k, cell) if "キーを表示します" in str(o)]
        assert key_shown.splitlines()[-1].replace(" ", "") == secret  # what the learner types into the app
        code1, code2 = phone_codes(qr)
        k.kc.input(code1)
        asked(k)
        k.kc.input(code2)

        shown, next_shown = finished(k, cell, queued)
        assert next_shown.strip() == "next cell: enabled", shown
        mine = [m for m in k.iopub if m["parent_header"].get("msg_id") == cell]
        assert not [m for m in mine if "image/png" in json.dumps(m["content"])]  # no image, ever, in this cell
        check_nothing_secret_kept(k, cell, code1, code2)
        assert secret not in json.dumps(saved_outputs(k, cell)).replace(" ", "")
    finally:
        k.close()


FIRST_CELL = next(
    c.source
    for c in nbformat.read(NOTEBOOKS / "22_enable_virtual_mfa_device.ipynb", as_version=4).cells
    if c.cell_type == "code"
)


@pytest.mark.parametrize("where", ["checkout", "alone"])
def test_a_kernel_without_the_kit_is_told_the_one_command_to_run(where, tmp_path):
    """Colab's kernel stack without the kit, the notebook in a checkout (Jupyter's folder: the
    notebook's) or alone (a notebook opened by itself): the first cell stops Run All with one Japanese
    line and the command, no traceback; in a checkout that command installs the kit and nothing else."""
    from test_e2e_kernel_wait import Kernel

    k = Kernel("6.17", tmp_path, kit=False, cwd=NOTEBOOKS if where == "checkout" else tmp_path)
    try:
        # stop_on_error=False: the kernel would otherwise abort the next request if it came before the
        # kernel's own end of aborting (ipykernel 6 schedules it, a race the dry run below once lost)
        cell = k.kc.execute(FIRST_CELL, stop_on_error=False)
        reply = k.reply(cell, timeout=60)
        k.wait_for(lambda m: m["parent_header"].get("msg_id") == cell and m["content"].get("execution_state") == "idle")
        shown = k.text(cell)
        assert reply["content"]["status"] == "error"  # Run All (nbclient, a front end) stops at an error reply
        assert "キット(handson_helpers)が入っていません" in shown and "Traceback" not in shown, shown
        assert not [m for m in k.iopub if m["msg_type"] == "error"]  # no traceback output at all
        command = shown.strip().splitlines()[-1]
        if where == "alone":
            assert command == '%pip install "git+<このリポジトリのURL>"'
            return
        assert command == f'%pip install "{NOTEBOOKS.parent}"'
        # What that line does in Colab's stack, as a dry run (nothing changes): it installs the kit alone
        check = k.kc.execute(command + " --dry-run --no-index --no-build-isolation")
        assert k.reply(check, timeout=300)["content"]["status"] == "ok", k.text(check)
        k.wait_for(
            lambda m: m["parent_header"].get("msg_id") == check and m["content"].get("execution_state") == "idle"
        )
        [would] = [line for line in k.text(check).splitlines() if line.startswith("Would install")]
        assert would.split() == ["Would", "install", "handson-iam-mfa-0.1.0"], k.text(check)
    finally:
        k.close()


class Handle:
    """A display handle that keeps what the output shows now, as a front end does."""

    def __init__(self):
        self.shown: list[dict] = []

    def update(self, data, raw=False):
        self.shown.append(data)


def test_the_key_path_typed_shows_the_key_once_and_removes_it(ctx, iam, tmp_path, monkeypatch):
    """A learner who cannot scan (Base32StringSeed) in the typed fallback: the key is shown as text in
    the form's place, a wrong pair is refused, the right one enables, and the key is gone."""
    import handson_helpers as hh
    from handson_helpers.cell_wait import _typed
    from handson_helpers.widget import MfaEnableForm

    key_file = tmp_path / "mfa" / "key.txt"
    hh.create_user(ctx, USER, "/handson-cli/")
    serial = hh.create_virtual_mfa_device(ctx, "handson-cli-basic-user-mfa", str(key_file), "Base32StringSeed")
    key = key_file.read_text().strip()
    form = MfaEnableForm(
        USER, serial, key_file.read_bytes(), lambda c1, c2: hh.enable_mfa_device(ctx, USER, serial, c1, c2)
    )
    answers = iter(["123456", "654321", *totp.consecutive_codes(key)])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    handle = Handle()
    assert _typed(form, handle, ctx) is True
    assert form.result == "enabled" and form.image is None
    [first, *_, last] = handle.shown
    assert first["text/plain"].replace(" ", "") == key  # the key, to type into the app
    assert key[:8] not in json.dumps(last) and "image/png" not in last
    assert "認証コードが正しくありません" in json.dumps([r.text for r in ctx.report.reports], ensure_ascii=False)


class Learner(NotebookClient):
    """nbclient as papermill runs it, but with a learner at stdin: each input request is answered
    with the phone's codes. The phone scans the QR the cell shows (22, 45), or shows the codes of
    the device registered at 2.2 (23, 40)."""

    def __init__(self, nb, main_qr: str, **kw):
        super().__init__(nb, **kw)
        self.main_qr, self.prompts, self.typed, self.pending = main_qr, [], [], []

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        kc.allow_stdin = True  # nbclient turns it off; a front end with an input box turns it on
        return kc

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        task = asyncio.create_task(self._answer(cell))
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            task.cancel()

    async def _secret(self, cell, tmp) -> str:
        for _ in range(30):  # the QR's display comes on iopub, the request on stdin: either may come first
            pngs = [o.data["image/png"] for o in cell.outputs if "image/png" in o.get("data", {})]
            if pngs:
                break
            await asyncio.sleep(0.1)
        if not pngs:
            return totp.secret_from_qr(expand(self.main_qr))
        tmp.write_bytes(base64.b64decode(pngs[-1]))
        return totp.secret_from_qr(tmp)

    async def _answer(self, cell):
        tmp = Path(self.resources["tmp"]) / "screen.png"
        while True:
            prompt = (await self.kc.get_stdin_msg())["content"]["prompt"]
            self.prompts.append(prompt)
            if prompt.endswith("(2回目): "):
                answer = self.pending.pop()
            else:
                count = 2 if "(1回目)" in prompt else 1
                secret = await self._secret(cell, tmp)
                answer, *self.pending = await asyncio.to_thread(totp.authenticator_codes, secret, count)
            self.typed.append(answer)
            self.kc.input(answer)


def colab_kernel(tmp_path) -> AsyncIPCKernelManager:
    """A kernel of Colab's stack (.venv-colab) with the kit from this work tree, for nbclient."""
    from jupyter_client.kernelspec import KernelSpecManager

    if not COLAB_PYTHON.exists():
        pytest.fail(f"{COLAB_PYTHON} is missing: `make dev` builds it (locks/colab.txt)")
    spec = tmp_path / "kernels" / "colab"
    spec.mkdir(parents=True)
    argv = [str(COLAB_PYTHON), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "colab", "language": "python", "env": {"PYTHONPATH": str(REPO)}}
    spec.joinpath("kernel.json").write_text(json.dumps(kernel))
    return AsyncIPCKernelManager(
        kernel_name="colab", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    )


@pytest.mark.parametrize("stack", ["lab", "colab"], ids=["ipykernel7.4", "colab"])
def test_the_notebooks_run_headless_with_the_codes_typed_at_stdin(stack, sandbox, iam, tmp_path, monkeypatch):
    monkeypatch.delenv("HANDSON_AUTO_MFA")  # a learner: nobody types for them but at stdin
    from test_e2e_notebooks import QR

    shutil.rmtree(Path.home() / "environment", ignore_errors=True)  # a learner's first run: no files of another

    prompts = []
    for path in notebooks():
        if path.name.startswith(("00", "95")):
            continue
        nb = nbformat.read(path, as_version=4)
        for c in nb.cells:
            if c.cell_type == "code":
                c.outputs = []
        client = Learner(
            nb,
            QR,
            timeout=180,
            kernel_name="python3",
            kernel_manager_class=AsyncIPCKernelManager,
            km=colab_kernel(tmp_path / path.stem) if stack == "colab" else None,
            resources={"metadata": {"path": str(NOTEBOOKS)}, "tmp": str(tmp_path)},
        )
        client.execute()  # a failing cell raises
        if stack == "colab":  # the notebook ran in Colab's stack, not this venv's kernel
            assert client.km.kernel_spec.argv[0] == str(COLAB_PYTHON), client.km.kernel_spec.argv
            assert nb.metadata.language_info.version != platform.python_version(), nb.metadata.language_info
        saved = nbformat.writes(nb)
        assert scan_notebook(json.loads(saved)) == [] and scan_text(saved) == [], path.name
        assert not [code for code in client.typed if code in saved], path.name
        assert "フォームのクリックをカーネルに届けない" in saved or not client.prompts, path.name
        prompts += [(path.stem[:2], p) for p in client.prompts]
    assert ("22", "認証コード(1回目): ") in prompts and ("40", "認証コード: ") in prompts, prompts
    assert ("45", "認証コード(2回目): ") in prompts, prompts  # the backup device, from its own QR
    assert iam.list_users()["Users"] == []
