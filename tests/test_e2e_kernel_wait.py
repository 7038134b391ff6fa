"""The 2.2 enable cell in a real kernel, without a browser: it waits for the form, and the next
queued cell runs only after it.

The test plays the front end on the kernel's own channels: it finds the form's widgets in the
comm_open messages, types two codes and clicks (comm_msg) while the cell waits. ipykernel 7.4
(.venv) hands the click to the awaiting cell itself, also when it comes with a subshell id (7.4
routes a widget's messages to the shell it last published from: here the main shell, which
handles comms while the cell holds its lock); ipykernel 6.31 (.venv-ipykernel6, built by
`make test`) gets it through jupyter-ui-poll.
"""

import os
import queue
import sys
import time
from pathlib import Path

import nbformat
import pytest
from helpers import USER, IPCKernelManager, make_user_and_device, outfile, phone_codes
from jupyter_client.kernelspec import KernelSpecManager
from secret_scan import scan_text
from test_bad_input import iam_state

REPO = Path(__file__).resolve().parents[1]
IPYKERNEL6_PYTHON = Path(os.environ.get("HANDSON_IPYKERNEL6_PYTHON", REPO / ".venv-ipykernel6" / "bin" / "python"))
# Google Colab's kernel stack: ipykernel 6.17, IPython 7.34, ipywidgets 7.7 on Python 3.12 (locks/colab.txt)
COLAB_PYTHON = Path(os.environ.get("HANDSON_COLAB_PYTHON", REPO / ".venv-colab" / "bin" / "python"))
PYTHONS = {"7.4": Path(sys.executable), "6.31": IPYKERNEL6_PYTHON, "6.17": COLAB_PYTHON}
ENABLE_CELL = next(
    c.source
    for c in nbformat.read(REPO / "notebooks" / "22_enable_virtual_mfa_device.ipynb", as_version=4).cells
    if c.cell_type == "code" and "enable_with_form" in c.source
)
NEXT_CELL = "print('next cell:', ENABLE_RESULT)"


class Kernel:
    """A kernel of the given ipykernel version, with every iopub message kept in order."""

    def __init__(self, version: str, tmp: Path, kit: bool = True, cwd: Path | None = None):
        """``kit``: the kit from this work tree (PYTHONPATH); ``cwd``: the kernel's folder (a notebook's)."""
        self.version = version
        python = PYTHONS[version]
        if not python.exists():
            pytest.fail(f"{python} is missing: `make dev` builds it (locks/)")
        spec_dir = tmp / "kernels" / "handson-test"
        spec_dir.mkdir(parents=True)
        spec_dir.joinpath("kernel.json").write_text(
            f'{{"argv": ["{python}", "-m", "ipykernel_launcher", "-f", "{{connection_file}}"], '
            '"display_name": "test", "language": "python"}'
        )
        env = {k: v for k, v in os.environ.items() if k != "HANDSON_AUTO_MFA"}  # a learner: nobody types for them
        if kit:
            env["PYTHONPATH"] = str(REPO)  # the kit from this work tree, also in the other environments
        self.km = IPCKernelManager(
            kernel_name="handson-test", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(tmp / "kernels")])
        )
        self.km.start_kernel(env=env, cwd=str(cwd or REPO))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.iopub: list[dict] = []
        self.sent: list[str] = []  # comm messages, as a front end sent them
        self.session = self.kc.session

    def check_version(self) -> None:
        """The environment runs the ipykernel it is meant to. 7.4 offers subshells (JupyterLab then
        sends widget messages with a subshell id); 6.31 does not (they all come on the main shell)."""
        reply = self.run("import ipykernel; print(ipykernel.__version__)")
        running = self.text(reply["parent_header"]["msg_id"]).strip()
        assert running.startswith(f"{self.version}."), running
        assert ("kernel subshells" in self.features()) == running.startswith("7.")

    def run(self, code: str, timeout: float = 60) -> dict:
        """Execute and wait for the reply; the code must succeed."""
        msg_id = self.kc.execute(code)
        reply = self.reply(msg_id, timeout)
        assert reply["content"]["status"] == "ok", (reply["content"], self.text(msg_id))
        self.wait_for(
            lambda m: (
                m["parent_header"].get("msg_id") == msg_id
                and m["msg_type"] == "status"
                and m["content"]["execution_state"] == "idle"
            )
        )
        return reply

    def reply(self, msg_id: str, timeout: float = 30) -> dict:
        """The shell reply to msg_id (a late kernel_info reply from start-up is passed over)."""
        while True:
            reply = self.kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply

    def wait_for(self, predicate, timeout: float = 30) -> dict:
        """The first iopub message (kept or new) that satisfies predicate."""
        for msg in self.iopub:
            if predicate(msg):
                return msg
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                continue
            self.iopub.append(msg)
            if predicate(msg):
                return msg
        raise AssertionError(
            f"no such iopub message within {timeout} s; last: {[m['msg_type'] for m in self.iopub[-10:]]}"
        )

    def text(self, msg_id: str) -> str:
        """What a cell showed: its stream and text/plain outputs."""
        parts = []
        for m in self.iopub:
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            if m["msg_type"] == "stream":
                parts.append(m["content"]["text"])
            elif m["msg_type"] in ("display_data", "execute_result"):
                parts.append(m["content"]["data"].get("text/plain", ""))
            elif m["msg_type"] == "error":
                parts.append("\n".join(m["content"]["traceback"]))
        return "\n".join(parts)

    def widget(self, predicate) -> str:
        """The comm id of the widget whose opening state satisfies predicate."""
        msg = self.wait_for(lambda m: m["msg_type"] == "comm_open" and predicate(m["content"]["data"].get("state", {})))
        return msg["content"]["comm_id"]

    def comm_msg(self, comm_id: str, data: dict, subshell_id: str | None) -> str:
        """What JupyterLab sends when the learner types or clicks."""
        msg = self.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        if subshell_id:
            msg["header"]["subshell_id"] = subshell_id
        self.kc.shell_channel.send(msg)
        self.sent.append(msg["header"]["msg_id"])
        return msg["header"]["msg_id"]

    def type_code(self, box: str, code: str, subshell_id: str | None) -> str:
        return self.comm_msg(
            self.widget(described(box)), {"method": "update", "state": {"value": code}, "buffer_paths": []}, subshell_id
        )

    def idle(self, msg_id: str) -> None:
        """ipywidgets' front end sends a widget's next change only after the idle status of its last one."""
        self.wait_for(
            lambda m: (
                m["parent_header"].get("msg_id") == msg_id
                and m["msg_type"] == "status"
                and m["content"]["execution_state"] == "idle"
            ),
            timeout=10,
        )

    def answer_probe(self, subshell_id: str | None = None) -> None:
        """What JupyterLab's link model does when it is created (ipywidgets' DirectionalLinkModel):
        copy the source's value into the target and send it back (cell_wait.Probe)."""
        link = self.widget(lambda state: state.get("_model_name") == "DirectionalLinkModel")
        state = next(m for m in self.iopub if m["content"].get("comm_id") == link)["content"]["data"]["state"]
        (source, name), (target, target_name) = state["source"], state["target"]
        value = self.wait_for(
            lambda m: m["msg_type"] == "comm_open" and m["content"]["comm_id"] == source.removeprefix("IPY_MODEL_")
        )["content"]["data"]["state"][name]
        update = {"method": "update", "state": {target_name: value}, "buffer_paths": []}
        self.comm_msg(target.removeprefix("IPY_MODEL_"), update, subshell_id)

    def click(self, button: str, subshell_id: str | None) -> None:
        self.comm_msg(self.widget(described(button)), {"method": "custom", "content": {"event": "click"}}, subshell_id)

    def create_subshell(self) -> str:
        msg = self.session.msg("create_subshell_request", {})
        self.kc.control_channel.send(msg)
        reply = self.kc.get_control_msg(timeout=10)
        assert reply["parent_header"]["msg_id"] == msg["header"]["msg_id"]
        return reply["content"]["subshell_id"]

    def features(self) -> list[str]:
        return self.reply(self.kc.kernel_info(), timeout=10)["content"].get("supported_features", [])

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture
def kernel(request, tmp_path):
    k = Kernel(request.param, tmp_path)
    try:
        k.check_version()
        yield k
    finally:
        k.close()


def value_sent(msg) -> str:
    """The value a comm_msg from the kernel gives a widget (the countdown, the status line), or ""."""
    return msg["content"]["data"].get("state", {}).get("value", "") if msg["msg_type"] == "comm_msg" else ""


def described(text):
    return lambda state: state.get("description") == text


def start_waiting_cell(k: Kernel, ctx, tmp_path, subshell_id: str | None = None, front_end: bool = True):
    """Run the notebook's enable cell (the next cell queued behind it); return both ids once it waits.
    ``front_end``: the test answers the form's probe as JupyterLab does; else it stays silent."""
    qr = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr)
    k.run(
        "import handson_helpers as hh\nctx = hh.connect()\n"
        f"IAM_USER_NAME, MFA_DEVICE_SERIAL, FILE_MFA_OUTFILE = {USER!r}, {serial!r}, {qr!r}"
    )
    cell = k.kc.execute(ENABLE_CELL)
    queued = k.kc.execute(NEXT_CELL)
    k.wait_for(lambda m: m["parent_header"].get("msg_id") == cell and m["msg_type"] == "display_data")
    if front_end:
        k.answer_probe(subshell_id)
    else:
        return cell, queued, qr
    first = k.wait_for(lambda m: value_sent(m).startswith("現在の認証コードが切り替わるまで"))
    # The countdown changes: the cell is in its waiting loop, not finished.
    k.wait_for(
        lambda m: (
            m["content"].get("comm_id") == first["content"]["comm_id"] and value_sent(m) not in ("", value_sent(first))
        )
    )
    time.sleep(1)
    assert not [
        m
        for m in k.iopub
        if m["parent_header"].get("msg_id") == queued and m["msg_type"] in ("execute_input", "stream")
    ], "the next cell ran while the form was waiting"
    return cell, queued, qr


def finished(k: Kernel, cell: str, queued: str) -> tuple[str, str]:
    """Both cells' outputs once the queued one is done; each must have succeeded."""
    k.wait_for(
        lambda m: (
            m["parent_header"].get("msg_id") == queued
            and m["msg_type"] == "status"
            and m["content"]["execution_state"] == "idle"
        ),
        timeout=60,
    )
    replies = {msg_id: k.reply(msg_id)["content"]["status"] for msg_id in (cell, queued)}
    assert replies == {cell: "ok", queued: "ok"}, (replies, k.text(cell), k.text(queued))
    return k.text(cell), k.text(queued)


@pytest.mark.parametrize(
    "kernel, subshell",
    [("7.4", False), ("7.4", True), ("6.31", False), ("6.17", False)],
    ids=["ipykernel7.4", "ipykernel7.4-subshell", "ipykernel6.31", "colab"],
    indirect=["kernel"],
)
def test_the_cell_waits_for_the_click_and_the_next_cell_runs_after_it(kernel, subshell, ctx, iam, tmp_path):
    k = kernel
    subshell_id = k.create_subshell() if subshell else None
    cell, queued, qr = start_waiting_cell(k, ctx, tmp_path, subshell_id)
    before = iam_state(iam)
    # Wrong codes first: the form refuses them, empties both boxes and keeps waiting for a retry.
    # As in a browser, the click follows the second box's change at once (it leaves the box).
    k.idle(k.type_code("認証コード(1回目)", "123456", subshell_id))
    k.type_code("認証コード(2回目)", "654321", subshell_id)
    k.click("MFAを有効化", subshell_id)
    k.wait_for(lambda m: "認証コードが正しくありません" in value_sent(m))
    assert iam_state(iam) == before
    code1, code2 = phone_codes(qr)
    k.idle(k.type_code("認証コード(1回目)", code1, subshell_id))
    second = k.type_code("認証コード(2回目)", code2, subshell_id)
    k.click("MFAを有効化", subshell_id)
    k.idle(second)  # each box syncs again after the retry

    shown, next_shown = finished(k, cell, queued)
    assert "仮想MFAデバイスの有効化が完了しました" in shown
    assert next_shown.strip() == "next cell: enabled"
    assert iam_state(iam) != before and iam.list_mfa_devices(UserName=USER)["MFADevices"]
    # One queue keeps the box changes before the click: none of the form's messages went to a
    # subshell's thread (where the kernel says busy), even after the kernel changed the boxes.
    assert not [
        m
        for m in k.iopub
        if m["parent_header"].get("msg_id") in k.sent
        and m["content"].get("execution_state") == "busy"
        and k.version == "7.4"
    ]
    for text in (shown, next_shown):
        assert code1 not in text and code2 not in text and scan_text(text) == []


@pytest.mark.parametrize(
    "kernel", ["7.4", "6.31", "6.17"], ids=["ipykernel7.4", "ipykernel6.31", "colab"], indirect=True
)
def test_interrupt_cancels_the_waiting_cell_and_the_next_cell_runs(kernel, ctx, iam, tmp_path):
    k = kernel
    cell, queued, _ = start_waiting_cell(k, ctx, tmp_path)
    before = iam_state(iam)
    k.km.interrupt_kernel()  # ■ in the toolbar

    shown, next_shown = finished(k, cell, queued)
    assert "有効化はキャンセルされました" in shown
    assert next_shown.strip() == "next cell: cancelled"
    assert iam_state(iam) == before
