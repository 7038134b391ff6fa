"""The hub test's driver (tests/test_hub.py): the hub started with the test's config, its REST API,
the users' kernels over their websockets as JupyterLab drives them, and the memory they take.

Not part of the kit: ``make hub`` never drives a hub, and a learner's package ships none of this.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from handson_helpers import hub, hub_accounts

REPO = Path(__file__).resolve().parents[2]
# The product's config plus the driver's service and role (jupyterhub_config.py here)
CONFIG = Path(__file__).with_name("jupyterhub_config.py")


# How long 先生を呼ぶ's share lasts in the test's hub (15 minutes in make hub's): the test sees it expire
HELP_SECONDS = 60


def serve(state: Path, ports: dict[str, int], token: str, major: str) -> subprocess.Popen:
    """make hub's JupyterHub ``major``, plus a service whose ``token`` drives it through the REST API."""
    env = {"HANDSON_HUB_DRIVER_TOKEN": token, "HANDSON_HUB_HELP_SECONDS": str(HELP_SECONDS)}
    return hub.serve(hub.HUB_DIR, state, ports, config=CONFIG, env=env, major=major)


class HubClient:
    """The hub's REST API with a token, and the users' servers through the proxy."""

    def __init__(self, url: str, token: str):
        self.url = url.rstrip("/")
        self.token = token

    def call(
        self, method: str, path: str, body: dict | None = None, token: str | None = None, timeout: float = 60
    ) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {token or self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
        return json.loads(raw) if raw else {}

    def wait_up(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.call("GET", "/hub/api/")
                return
            except (OSError, urllib.error.HTTPError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def start_server(self, name: str, timeout: float = 600) -> None:
        try:
            self.call("POST", f"/hub/api/users/{name}/server")
        except urllib.error.HTTPError as exc:
            if exc.code != 400:  # 400: already running
                raise
        deadline = time.monotonic() + timeout
        while not self.call("GET", f"/hub/api/users/{name}").get("servers", {}).get("", {}).get("ready"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name}'s server did not become ready")
            time.sleep(1)

    def user_token(self, name: str) -> str:
        return self.call("POST", f"/hub/api/users/{name}/tokens", {"note": "handson hub driver", "expires_in": 3600})[
            "token"
        ]


class Kernel:
    """One kernel in a user's server, driven over its websocket as JupyterLab does."""

    def __init__(self, hub: HubClient, name: str, token: str):
        self.hub, self.name, self.token = hub, name, token
        self.id = hub.call("POST", f"/user/{name}/api/kernels", {"name": "python3"}, token=token)["id"]

    def execute(self, code: str, timeout: float = 300) -> tuple[str, str]:
        """Run ``code``; its status ("ok"/"error") and everything it printed (text, errors)."""
        return asyncio.run(self._execute(code, timeout))

    async def _execute(self, code: str, timeout: float) -> tuple[str, str]:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        url = self.hub.url.replace("http", "ws", 1) + f"/user/{self.name}/api/kernels/{self.id}/channels"
        # tornado gives up on a connection after 20 s; a server just started among 20 others may take longer
        conn = await websocket_connect(
            HTTPRequest(
                url, headers={"Authorization": f"token {self.token}"}, connect_timeout=timeout, request_timeout=timeout
            )
        )
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "username": self.name,
            "session": uuid.uuid4().hex,
            "msg_type": "execute_request",
            "version": "5.3",
            "date": "",
        }
        content = {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        conn.write_message(
            json.dumps(
                {
                    "header": header,
                    "parent_header": {},
                    "metadata": {},
                    "content": content,
                    "channel": "shell",
                    "buffers": [],
                }
            )
        )
        text: list[str] = []
        status, idle = "", False
        deadline = time.monotonic() + timeout
        try:
            while not (status and idle):
                raw = await asyncio.wait_for(conn.read_message(), max(0.1, deadline - time.monotonic()))
                if raw is None:
                    raise ConnectionError("the kernel's websocket closed")
                if isinstance(raw, bytes):
                    continue  # a message with binary buffers (the QR widget's image): nothing to read here
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, body = msg["header"]["msg_type"], msg["content"]
                if kind == "stream":
                    text.append(body["text"])
                elif kind in ("execute_result", "display_data"):
                    text.append(body["data"].get("text/plain", "") + "\n")
                elif kind == "error":
                    text.append(f"{body['ename']}: {body['evalue']}\n")
                elif kind == "execute_reply":
                    status = body["status"]
                elif kind == "status" and body["execution_state"] == "idle":
                    idle = True
        finally:
            conn.close()
        return status, "".join(text)

    def shutdown(self) -> None:
        self.hub.call("DELETE", f"/user/{self.name}/api/kernels/{self.id}", token=self.token)


def notebook_code(prefix: str) -> list[str]:
    """The code cells of one notebook (e.g. "22"), as a learner runs them top to bottom."""
    path = next((REPO / "notebooks").glob(f"{prefix}_*.ipynb"))
    return [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in json.loads(path.read_text())["cells"]
        if c["cell_type"] == "code"
    ]


def _memory(pids: list[int]) -> dict[str, float]:
    """RSS and PSS (shared pages split between the processes that share them) of ``pids``, in MB, and
    the CPU time they used since they started (user and system, in seconds)."""
    rss = pss = ticks = 0
    for pid in pids:
        try:
            ticks += sum(int(f) for f in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13])
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    cpu = round(ticks / os.sysconf("SC_CLK_TCK"), 1)
    return {"rss_mb": round(rss / 1024, 1), "pss_mb": round(pss / 1024, 1), "cpu_s": cpu}


def memory_of(uid: int) -> dict[str, float]:
    """Every process of one Unix user: a participant's single-user server and kernels."""
    return _memory(hub_accounts._processes_of(uid))


def tree_memory(root: int) -> dict[str, float]:
    """A process and its descendants (the hub, its proxy and its room), minus the servers it spawned
    for users (counted per participant)."""
    parent = {}
    for pid in hub_accounts._pids():
        try:
            if Path(f"/proc/{pid}").stat().st_uid == Path(f"/proc/{root}").stat().st_uid:
                parent[pid] = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    tree, changed = {root}, True
    while changed:
        grown = tree | {pid for pid, ppid in parent.items() if ppid in tree}
        changed, tree = grown != tree, grown
    return _memory(sorted(tree))
