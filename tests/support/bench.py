"""Benchmarks (make bench): the kit against the seed's aws CLI, the sandbox, kernels, and scale.

Not part of the kit: it lives with the tests (``python -m tests.support.bench``) and takes the names
and the room's rules from the kit's one definition of each (settings, room).

Figures are ratios and medians measured in one run on one machine; they are printed and written
to artifacts/bench/results.json, never asserted by tests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from handson_helpers.room import own_names
from handson_helpers.settings import SEED_DEVICE_NAME as DEVICE
from handson_helpers.settings import SEED_USER_NAME as USER
from handson_helpers.settings import SEED_USER_PATH as PATH

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "artifacts" / "bench"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_s(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _prepare(ctx, qr: str) -> str:
    """User and device ready for 2.2 (``ctx`` reports to a Silent reporter)."""
    import handson_helpers as hh

    hh.create_user(ctx, USER, PATH)
    return hh.create_virtual_mfa_device(ctx, DEVICE, qr)


def bench_steps(rounds: int, home: Path) -> dict:
    """2.2's four steps: the seed's aws CLI processes versus the helpers in one process."""
    import handson_helpers as hh
    from handson_helpers import sandbox, totp
    from handson_helpers.settings import expand

    aws = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws") or "aws"
    ctx = hh.connect(hh.Silent())
    qr = str(home / "qr" / f"{DEVICE}.png")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        sandbox.client_env(sandbox.ensure_running()), AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull
    )
    cli_times, kit_times = [], []
    for _ in range(rounds):
        sandbox.reset()
        _prepare(ctx, qr)
        codes = totp.consecutive_codes(totp.secret_from_qr(expand(qr)))
        serial_query = f"VirtualMFADevices[?SerialNumber == `arn:aws:iam::123456789012:mfa/{DEVICE}`].SerialNumber"
        started = time.perf_counter()
        for args in (
            ["sts", "get-caller-identity", "--query", "Account", "--output", "text"],
            ["iam", "list-virtual-mfa-devices", "--query", serial_query, "--output", "text"],
            [
                "iam",
                "enable-mfa-device",
                "--user-name",
                USER,
                "--serial-number",
                f"arn:aws:iam::123456789012:mfa/{DEVICE}",
                "--authentication-code1",
                codes[0],
                "--authentication-code2",
                codes[1],
            ],
            [
                "iam",
                "list-virtual-mfa-devices",
                "--query",
                f"VirtualMFADevices[?User.UserName == `{USER}`].User.UserName",
                "--output",
                "text",
            ],
        ):
            subprocess.run([aws, *args], env=env, check=True, capture_output=True)
        cli_times.append(time.perf_counter() - started)

        sandbox.reset()
        _prepare(ctx, qr)
        codes = totp.consecutive_codes(totp.secret_from_qr(expand(qr)))
        started = time.perf_counter()
        account = hh.get_account_id(ctx)
        serial = hh.find_device_serial(ctx, account, DEVICE)
        hh.enable_mfa_device(ctx, USER, serial, *codes)
        hh.verify_mfa_enabled(ctx, USER)
        kit_times.append(time.perf_counter() - started)
    cli, kit = statistics.median(cli_times), statistics.median(kit_times)
    return {
        "rounds": rounds,
        "cli_median_s": round(cli, 4),
        "kit_median_s": round(kit, 4),
        "ratio": round(cli / kit, 1),
    }


def bench_sandbox(rounds: int) -> dict:
    """Cold start to first answered call, and the server's memory after a whole hands-on."""
    import boto3

    from handson_helpers import sandbox

    starts = []
    for _ in range(rounds):
        sandbox.stop()
        started = time.perf_counter()
        box = sandbox.start()
        boto3.client("sts", endpoint_url=box.url, region_name="ap-northeast-1", **box.credentials).get_caller_identity()
        starts.append(time.perf_counter() - started)
    return {"cold_start_to_first_call_median_s": round(statistics.median(starts), 3)}


def bench_notebooks() -> dict:
    """Kernel start to the 2.2 form shown (and enabled by the built-in authenticator); kernel memory 01→90."""
    import nbformat
    from nbclient import NotebookClient

    from handson_helpers import sandbox
    from handson_helpers.run import NOTEBOOKS, notebooks

    sandbox.reset()
    cells = []
    timings = {}
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        cells += [c for c in nb.cells if c.cell_type == "code"]
        if path.name.startswith("22_"):
            form = next(i for i, c in enumerate(cells) if "enable_with_form" in c.source)
            probe = nbformat.v4.new_code_cell("import time as _t; print(_t.time())")
            timings["form_at"] = len(cells)
            cells = cells[: form + 1] + [probe] + cells[form + 1 :]
    cells.append(
        nbformat.v4.new_code_cell("import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    )
    whole = nbformat.v4.new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    # 22 measured on its own: a new kernel that finds user and device from 10 and 21 already there.
    client = NotebookClient(
        whole,
        timeout=300,
        kernel_name="python3",
        store_widget_state=False,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    max_rss_mb = int(whole.cells[-1].outputs[0]["text"]) / 1024

    sandbox.reset()
    pre = [
        c
        for p in notebooks()
        if p.name[:2] in ("10", "21")
        for c in nbformat.read(p, as_version=4).cells
        if c.cell_type == "code"
    ]
    NotebookClient(
        nbformat.v4.new_notebook(cells=pre, metadata=whole.metadata),
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    ).execute()
    nb22 = nbformat.read(next(p for p in notebooks() if p.name.startswith("22_")), as_version=4)
    code = [c for c in nb22.cells if c.cell_type == "code"]
    upto = next(i for i, c in enumerate(code) if "enable_with_form" in c.source)
    start_cell = nbformat.v4.new_code_cell("import time as _t; print(_t.time())")
    end_cell = nbformat.v4.new_code_cell("print(_t.time())")
    part = nbformat.v4.new_notebook(cells=[start_cell, *code[: upto + 1], end_cell], metadata=whole.metadata)
    started = time.time()
    NotebookClient(
        part,
        timeout=120,
        kernel_name="python3",
        store_widget_state=False,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    ).execute()
    kernel_up = float(part.cells[0].outputs[0]["text"])
    form_done = float(part.cells[-1].outputs[0]["text"])
    return {
        "kernel_start_s": round(kernel_up - started, 2),
        "kernel_start_to_form_shown_and_enabled_s": round(form_done - started, 2),
        "kernel_max_rss_01_to_90_mb": round(max_rss_mb, 1),
        "sandbox_rss_after_hands_on_mb": round(_rss_mb(sandbox.ensure_running().pid), 1),
    }


INSTRUCTOR = "instructor"  # the hub admin of the bench's room
SERVICE_TOKEN = "bench-room-service"  # the room's own token, with which it asks the hub who is admin


def _names(n: int) -> tuple[str, str]:
    """Learner n's user and device: the room's own names for participant pNN (its policy allows those)."""
    return own_names(f"p{n:02d}")


@contextlib.contextmanager
def _room(count: int):
    """A real room sandbox (``python -m handson_helpers.sandbox room``, as JupyterHub runs it) behind
    a stand-in for the hub calls it makes (GET /hub/api/user with a server's token, then
    /hub/api/users/<name> with its own, for the admin flag); yields its URL, pid and each
    learner's keys (and the instructor's, the room's administrator key, under INSTRUCTOR), fetched
    from its credentials endpoint with each one's token as a kernel does."""
    import tempfile
    import urllib.request
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from handson_helpers.room import CREDENTIALS_PATH

    tokens = {f"token bench-learner-{n:02d}": f"p{n:02d}" for n in range(count)}
    tokens[f"token {INSTRUCTOR}"] = INSTRUCTOR

    class Hub(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            """A server's token sees its user; the room's own token also who is admin and since when."""
            auth = self.headers.get("Authorization", "")
            if self.path == "/hub/api/user" and auth in tokens:
                answer = {"kind": "user", "name": tokens[auth]}
            elif self.path.startswith("/hub/api/users/") and auth == f"token {SERVICE_TOKEN}":
                name = self.path.rsplit("/", 1)[1]
                answer = {"kind": "user", "name": name, "admin": name == INSTRUCTOR, "created": "2026-12-01T09:00:00Z"}
            else:
                self.send_response(403)
                self.end_headers()
                return
            self.send_response(200)
            self.end_headers()
            self.wfile.write(json.dumps(answer).encode())

        def log_message(self, *args):
            pass

    hub = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=hub.serve_forever, daemon=True).start()
    from handson_helpers.hub import free_port

    port = free_port(range(10000, 12000))  # outside the ephemeral range: nothing else is handed it
    with tempfile.TemporaryDirectory(prefix="handson-bench-room-") as home:
        env = {
            **os.environ,
            "HANDSON_HOME": f"{home}/room",
            "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
            "JUPYTERHUB_API_URL": f"http://127.0.0.1:{hub.server_port}/hub/api",
            "JUPYTERHUB_API_TOKEN": SERVICE_TOKEN,
            "HANDSON_ROOM_CONNECTIONS_PER_CLIENT": str(2 * count + 32),  # here every learner is this one uid
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "handson_helpers.sandbox", "room"], env=env, stderr=subprocess.PIPE, text=True
        )
        try:
            assert proc.stderr is not None and "serving" in proc.stderr.readline()
            url, keys = f"http://127.0.0.1:{port}", {}
            for token, name in tokens.items():
                with urllib.request.urlopen(
                    urllib.request.Request(url + CREDENTIALS_PATH, headers={"Authorization": token}), timeout=30
                ) as answer:
                    issued = json.loads(answer.read())
                keys[INSTRUCTOR if name == INSTRUCTOR else int(name[1:])] = {
                    "aws_access_key_id": issued["AccessKeyId"],
                    "aws_secret_access_key": issued["SecretAccessKey"],
                }
            yield url, proc.pid, keys
        finally:
            proc.terminate()
            proc.wait(30)
            hub.shutdown()


def _context(key: dict[str, str] | None, url: str | None):
    """The kit's Context: the private sandbox's administrator key, or a participant's key in the room at ``url``."""
    import boto3

    import handson_helpers as hh
    from handson_helpers.rules import REGION
    from handson_helpers.target import CLIENT_CONFIG, Context

    if key is None:
        return hh.connect(hh.Silent())
    session = boto3.Session(region_name=REGION, **key)
    iam = session.client("iam", endpoint_url=url, config=CLIENT_CONFIG)
    sts = session.client("sts", endpoint_url=url, config=CLIENT_CONFIG)
    identity = sts.get_caller_identity()
    return Context("sandbox", iam, sts, identity["Account"], identity["Arn"], url, report=hh.Silent())


class _CallTimer:
    """Times each HTTP request a client sends: from botocore's before-send (signed, about to go
    out) to before-parse (the whole answer received), per attempt, so a retry counts as a call."""

    def __init__(self, clients: list) -> None:
        self.calls: list[tuple[str, float, int]] = []  # operation, seconds, HTTP status
        self._started = threading.local()
        for client in clients:
            client.meta.events.register("before-send", self._send)
            client.meta.events.register("before-parse", self._received)

    def _send(self, request, **_):
        self._started.at = time.perf_counter()

    def _received(self, operation_model, response_dict, **_):
        self.calls.append((operation_model.name, time.perf_counter() - self._started.at, response_dict["status_code"]))


# Issue 26's faults, each met by one learner of a room: what the learner does, and what the
# instructor's view must then say of them (a problem's "what"; see _flagged_right).
FAULTS = {
    "clock 10 minutes behind": "wrong-time",
    "codes of another device": "other-device",
    "lost QR, device made again": "re-created-device",
    "three wrong codes in a row": "wrong-code",
    "AccessDenied in 40": "access-denied",
}


def fault_plan(count: int) -> dict[int, str]:
    """Which learners meet which fault: five spread over the room (learners 5, 15, 25, 35, 45 of 50)."""
    return {count * (2 * i + 1) // (2 * len(FAULTS)): fault for i, fault in enumerate(FAULTS)}


def _wrong_pairs(seed: str) -> list[tuple[str, str]]:
    """Three pairs of codes that match the device at no time near now: three wrong codes in a row."""
    import pyotp

    totp, now = pyotp.TOTP(seed), time.time()
    near = {totp.at(now + 30 * s) for s in range(-35, 36)}
    wrong = [c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c not in near][:4]
    return [(wrong[0], wrong[1]), (wrong[1], wrong[2]), (wrong[2], wrong[3])]


@contextlib.contextmanager
def _fault(faulted: dict, n: int):
    """Learner n's fault is the call made inside: when it was sent and when its answer came."""
    sent = time.time()
    try:
        yield
    finally:
        faulted[n] = (sent, time.time())


def _learner(
    n: int,
    ctx,
    failures: list,
    leaks: list,
    pace: tuple[float, float, float],
    fault: str | None = None,
    other_seed: str | None = None,
    faulted: dict | None = None,
) -> None:
    """Participant n's 1 → 2.1 → 2.2 → 後始末 with the kit's helpers, on its own user and device.

    ``pace`` = (latest start, shortest and longest pause between two steps) in seconds; all zero
    is the stress case: everyone presses Run All at the same instant. A learner with a ``fault``
    (FAULTS) meets it on the way, notes when in ``faulted`` (_fault) and, unless it could go on (a lost QR),
    waits there for the instructor; ``other_seed`` is the seed of a device not theirs (the QR on
    the instructor's screen).
    """
    import random

    import handson_helpers as hh
    from handson_helpers import totp
    from handson_helpers.errors import HandsonError
    from handson_helpers.settings import KIT_POLICY_NAME, expand

    user, device = _names(n)
    qr = str(Path.home() / "qr" / f"{device}.png")  # HOME is the benchmark's private folder
    faulted = {} if faulted is None else faulted

    def pause(longest: float) -> None:
        time.sleep(random.uniform(min(pace[1], longest), longest))

    try:
        pause(pace[0])
        hh.create_user(ctx, user, PATH)
        pause(pace[2])
        serial = hh.create_virtual_mfa_device(ctx, device, qr)
        if fault == "lost QR, device made again":  # as 22 offers when the QR file is gone
            ctx.iam.delete_virtual_mfa_device(SerialNumber=serial)
            with _fault(faulted, n):
                serial = hh.create_virtual_mfa_device(ctx, device, qr)
        pause(pace[2])
        seed = totp.secret_from_qr(expand(qr))
        tries = {
            "clock 10 minutes behind": [totp.consecutive_codes(seed, time.time() - 600)],
            "codes of another device": [totp.consecutive_codes(other_seed or "")],
            "three wrong codes in a row": _wrong_pairs(seed),
        }.get(fault or "")
        if tries:
            for i, codes in enumerate(tries):
                if i:
                    pause(pace[2])
                with _fault(faulted, n), contextlib.suppress(HandsonError):
                    hh.enable_mfa_device(ctx, user, serial, *codes)
                    failures.append(f"{user}: {fault}: enabled")
            return
        hh.enable_mfa_device(ctx, user, serial, *totp.consecutive_codes(seed))
        pause(pace[2])
        if fault == "AccessDenied in 40":  # the policy put on another participant's user (a mistyped name)
            other = _names(n + 1)[0]
            try:
                with _fault(faulted, n):
                    ctx.iam.put_user_policy(UserName=other, PolicyName=KIT_POLICY_NAME, PolicyDocument=_POLICY)
                failures.append(f"{user}: {fault}: allowed")
            except ctx.iam.exceptions.ClientError as exc:
                if exc.response["Error"]["Code"] != "AccessDenied":
                    raise
            return
        hh.verify_mfa_enabled(ctx, user)
        mine = [d["SerialNumber"] for d in ctx.iam.list_mfa_devices(UserName=user)["MFADevices"]]
        if mine != [serial]:
            leaks.append((user, mine))
        pause(pace[2])
        plan = hh.plan_cleanup(ctx, user, PATH, device, qr)
        if plan.serial != serial or plan.user_name != user:
            leaks.append((user, plan))
        pause(pace[2])
        hh.run_cleanup(ctx, plan)
        hh.verify_cleanup(ctx, user, device, qr)
    except Exception as exc:  # noqa: BLE001 - a benchmark counts failures instead of stopping
        failures.append(f"{user}: {type(exc).__name__}: {exc}")


def _client_process(
    learners: list[int],
    keys: dict,
    url: str | None,
    pace: tuple[float, float, float],
    ready,
    go,
    results,
    faults: dict[int, str] | None = None,
    other_seed: str | None = None,
) -> None:
    """One client process: its learners' clients are made before ``go``, then each runs in a thread."""
    contexts = {n: _context(keys.get(n), url) for n in learners}
    timer = _CallTimer([c for ctx in contexts.values() for c in (ctx.iam, ctx.sts)])
    failures: list[str] = []
    leaks: list[tuple] = []
    faulted: dict[int, tuple[float, float]] = {}
    ready.release()
    go.wait()
    threads = [
        threading.Thread(
            target=_learner,
            args=(n, contexts[n], failures, leaks, pace, (faults or {}).get(n), other_seed, faulted),
        )
        for n in learners
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put({"calls": timer.calls, "failures": failures, "leaks": len(leaks), "faulted": faulted})


def _ms(values: list[float], q: float) -> float:
    return round(1000 * values[min(len(values) - 1, int(len(values) * q))], 1)


_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*"}]}
)
STRESS = (0.0, 0.0, 0.0)  # everyone presses Run All at the same instant
# A room at work: learners start within 10 s of each other and take 1–3 s from one step to the next
# (read the output, run the next cell); a human takes far longer, so this is still a busy room.
CLASSROOM = (10.0, 1.0, 3.0)


def bench_scale(
    counts: list[int], own_keys: bool = False, processes: int = 10, pace: tuple[float, float, float] = STRESS
) -> list[dict]:
    """N learners at once, each doing 1 → 2.1 → 2.2 → 後始末 at ``pace`` (see _learner).

    Latency is per AWS API call: each HTTP request from botocore's before-send to before-parse
    (signing and parsing excluded). The learners run as threads spread over up to ``processes``
    client processes, so that one process's GIL does not add its queue to the sandbox's time.
    With ``own_keys`` the learners use a room sandbox (see _room), each signing with the key of
    its own IAM user that the room issued, so every call also goes through the room's policy and
    boundary evaluation; otherwise the private sandbox with its administrator key.
    """
    import multiprocessing

    from handson_helpers import sandbox

    spawn = multiprocessing.get_context("spawn")
    results = []
    for count in counts:
        with contextlib.ExitStack() as stack:
            if own_keys:
                url, pid, keys = stack.enter_context(_room(count))
            else:
                url, pid, keys = None, sandbox.reset().pid, {}
            result = _run_learners(count, keys, url, pid, processes, pace, spawn)
            del result["seconds"]
            results.append(result)
    return results


def _run_learners(
    count: int,
    keys: dict,
    url: str | None,
    pid: int,
    processes: int,
    pace: tuple[float, float, float],
    spawn,
    faults: dict[int, str] | None = None,
    other_seed: str | None = None,
    during: contextlib.AbstractContextManager | None = None,
) -> dict:
    """One measured round: the client processes start their learners together and report each call.
    ``during`` (the instructor's view being polled) is entered at the start and left at the end."""
    groups = [list(range(count))[i::processes] for i in range(min(count, processes))]
    ready, go, queue = spawn.Semaphore(0), spawn.Event(), spawn.Queue()
    workers = [
        spawn.Process(
            target=_client_process,
            args=(g, {n: keys[n] for n in g if n in keys}, url, pace, ready, go, queue, faults, other_seed),
        )
        for g in groups
    ]
    for w in workers:
        w.start()
    for _ in workers:
        ready.acquire()
    rss_before, cpu_before = _rss_mb(pid), _cpu_s(pid)
    started = time.perf_counter()
    with during or contextlib.nullcontext():
        go.set()
        parts = [queue.get() for _ in workers]
    total = time.perf_counter() - started
    cpu = _cpu_s(pid) - cpu_before
    for w in workers:
        w.join()
    calls = [c for p in parts for c in p["calls"]]
    failures = [f for p in parts for f in p["failures"]]
    seconds = sorted(c[1] for c in calls)
    by_operation: dict[str, list[float]] = {}
    for operation, took, _ in calls:
        by_operation.setdefault(operation, []).append(took)
    p95s = {op: _ms(sorted(t), 0.95) for op, t in by_operation.items()}
    return {
        "learners": count,
        "signed_with": "own IAM user key, room sandbox" if url else "administrator key, private sandbox",
        "pace": "stress (no pause)"
        if pace == STRESS
        else f"classroom (start within {pace[0]:g} s, {pace[1]:g}–{pace[2]:g} s between steps)",
        "client_processes": len(workers),
        "total_s": round(total, 2),
        "calls": len(calls),
        "calls_per_s": round(len(calls) / total, 1),
        "p50_ms": _ms(seconds, 0.5) if seconds else None,
        "p95_ms": _ms(seconds, 0.95) if seconds else None,
        "max_ms": round(1000 * seconds[-1], 1) if seconds else None,
        "slowest_p95_ms": dict(sorted(p95s.items(), key=lambda kv: -kv[1])[:5]),
        "sandbox_cpu_ms_per_call": round(1000 * cpu / len(calls), 2) if calls else None,
        "server_errors": sum(1 for c in calls if c[2] >= 500),
        "failures": len(failures),
        "cross_learner_leaks": sum(p["leaks"] for p in parts),
        "first_failures": failures[:3],
        "sandbox_rss_before_mb": round(rss_before, 1),
        "sandbox_rss_after_mb": round(_rss_mb(pid), 1),
        "faulted": {n: when for p in parts for n, when in p["faulted"].items()},
        "seconds": seconds,  # every call's time, pooled across rounds by bench_room_view, then dropped
    }


class _Instructor:
    """The instructor's view of the room during a round: read every ``seconds`` as 95 and
    ``workshop status --watch`` do (None: not during the round, only once after it, to check it),
    noting when each participant was first seen flagged and how."""

    def __init__(self, url: str, key: dict[str, str], seconds: float | None):
        self.url, self.key, self.seconds = url, key, seconds
        self.first: dict[str, tuple[float, dict, float]] = {}  # participant: (when seen flagged, row, read's start)
        self.last: list[dict] = []
        self.polls: list[float] = []
        self.read_starts: list[float] = []  # when each read that answered was sent
        self.misses = 0  # reads the room did not answer in time: counted, and the poller goes on
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def poll(self) -> None:
        from handson_helpers import room_view
        from handson_helpers.errors import HandsonError

        sent, started = time.time(), time.perf_counter()
        try:
            rows = room_view.read(self.url, self.key["aws_access_key_id"], self.key["aws_secret_access_key"])
        except HandsonError:  # a read slower than its timeout on a loaded machine: the next one comes
            self.misses += 1
            return
        seen = time.time()
        self.polls.append(time.perf_counter() - started)
        self.read_starts.append(sent)
        for row in rows:
            if row["flagged"] and row["participant"] not in self.first:
                self.first[row["participant"]] = (seen, row, sent)
        self.last = rows

    def _run(self) -> None:
        while not self._stopping.wait(self.seconds):
            self.poll()

    def __enter__(self) -> _Instructor:
        if self.seconds:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping.set()
        if self.seconds:
            self._thread.join()
        self.poll()  # once more after the last learner: every fault had a read after it

    def verdict(self, plan: dict[int, str], faulted: dict[int, tuple[float, float]]) -> dict:
        """Who was flagged, how soon after their fault (after its refusal reached the learner; a read
        may see it a moment before), and whether for the fault's reason."""
        flagged = {}
        for name, (seen, row, sent) in sorted(self.first.items()):
            n = int(name[1:]) if name[1:].isdigit() else -1
            fault = plan.get(n)
            final = next(r for r in self.last if r["participant"] == name)
            flagged[name] = {
                "fault": fault,
                "reasons": [p["what"] for p in final["problems"]],
                "right_reason": bool(fault) and _flagged_right(fault, row) and _flagged_right(fault, final),
                "seconds_after_fault": round(seen - faulted[n][1], 2) if self.seconds and n in faulted else None,
                "seen_after_the_fault_was_sent": n in faulted and seen >= faulted[n][0],
                # answered reads sent after the learner got the refusal, before the one that flagged it: 0
                # when the first such read flags it, however slow the reads (a missed read is no read)
                "reads_missed_it": sum(faulted[n][1] <= t < sent for t in self.read_starts) if n in faulted else None,
            }
        times = [f["seconds_after_fault"] for f in flagged.values() if f["seconds_after_fault"] is not None]
        return {
            "view_polled_every_s": self.seconds,
            "view_reads": len(self.polls),
            "view_reads_missed": self.misses,
            "view_read_p50_ms": _ms(sorted(self.polls), 0.5),
            "faults": len(plan),
            "faults_flagged_for_the_right_reason": sum(f["right_reason"] for f in flagged.values()),
            "others_flagged": [name for name, f in flagged.items() if not f["fault"]],
            "max_seconds_to_flag": max(times) if times else None,
            "flagged": flagged,
        }


def _flagged_right(fault: str, row: dict) -> bool:
    """The view says what the fault was, and only that (FAULTS)."""
    whats = [p["what"].split(":")[0] for p in row["problems"]]
    if not row["flagged"] or set(whats) != {FAULTS[fault]}:
        return False
    if fault == "clock 10 minutes behind":
        return row["stuck"] and row["wrong_time"] in ("-10", "-11") and row["section"] == "22"
    if fault == "three wrong codes in a row":
        return row["stuck"] and row["wrong_codes_in_a_row"] == 3 and len(whats) == 3
    if fault == "AccessDenied in 40":
        return row["stuck"] and row["section"] == "40" and row["problems"][0]["action"] == "PutUserPolicy"
    if fault == "codes of another device":
        return row["stuck"] and row["section"] == "22"
    return len(whats) == 1  # a lost QR: noted, and the learner went on


def _demo_device(url: str, key: dict[str, str]) -> str:
    """The instructor's own device, made with the room's administrator key: its QR is on the
    screen at the front, and one learner scans that instead of their own. Its seed."""
    import boto3

    from handson_helpers.rules import REGION

    iam = boto3.client("iam", endpoint_url=url, region_name=REGION, **key)
    made = iam.create_virtual_mfa_device(VirtualMFADeviceName=own_names(INSTRUCTOR)[1])
    return made["VirtualMFADevice"]["Base32StringSeed"].decode()


VIEW_READS = 50  # reads of the view after a round, for its CPU cost


def room_view_round(
    count: int, view: float | None, pace: tuple[float, float, float] = CLASSROOM, processes: int = 10, spawn=None
) -> dict:
    """One round in a new room: ``count`` learners at ``pace``, five of them meeting FAULTS, the
    instructor's view read every ``view`` seconds (None: only after the round)."""
    import multiprocessing

    spawn = spawn or multiprocessing.get_context("spawn")
    plan = fault_plan(count)
    with _room(count) as (url, pid, keys):
        instructor = _Instructor(url, keys[INSTRUCTOR], view)
        result = _run_learners(
            count, keys, url, pid, processes, pace, spawn, plan, _demo_device(url, keys[INSTRUCTOR]), instructor
        )
        # what one read of the view costs the room, with the room as the round left it
        cpu = _cpu_s(pid)
        for _ in range(VIEW_READS):
            instructor.poll()
        per_read = (_cpu_s(pid) - cpu) / VIEW_READS
        return {
            **result,
            **instructor.verdict(plan, result["faulted"]),
            "room_cpu_ms_per_view_read": round(1000 * per_read, 2),
        }


def bench_room_view(count: int, rounds: int, poll: float = 3.0, pace: tuple[float, float, float] = CLASSROOM) -> dict:
    """Issue 26: ``count`` learners with five faults, rounds with the instructor's view read every
    ``poll`` seconds and without it, alternating (ABAB...) so that the other loads of a shared
    machine fall on both alike; p95 compared as medians of the rounds."""
    import multiprocessing

    spawn = multiprocessing.get_context("spawn")
    runs = [room_view_round(count, poll if i % 2 == 0 else None, pace, spawn=spawn) for i in range(2 * rounds)]
    with_view, without = runs[0::2], runs[1::2]
    # a round's p95 is decided by its few slowest calls, which the machine's other loads move a lot:
    # every call of every round of one kind, pooled, is the steadier figure
    pooled = {
        kind: sorted(t for r in rs for t in r["seconds"]) for kind, rs in (("with", with_view), ("without", without))
    }
    for r in runs:
        del r["seconds"]

    def median(rs: list[dict], key: str) -> float:
        return round(statistics.median(r[key] for r in rs), 2)

    return {
        "learners": count,
        "pace": f"classroom (start within {pace[0]:g} s, {pace[1]:g}–{pace[2]:g} s between steps)",
        "rounds_each": rounds,
        "p95_ms_with_view_median": median(with_view, "p95_ms"),
        "p95_ms_without_view_median": median(without, "p95_ms"),
        "p95_ratio_with_over_without": round(median(with_view, "p95_ms") / median(without, "p95_ms"), 3),
        "p95_ratio_per_pair": [round(a["p95_ms"] / b["p95_ms"], 3) for a, b in zip(with_view, without)],
        "p95_ratio_per_pair_median": round(
            statistics.median(a["p95_ms"] / b["p95_ms"] for a, b in zip(with_view, without)), 3
        ),
        "p95_ms_pooled_with_view": _ms(pooled["with"], 0.95),
        "p95_ms_pooled_without_view": _ms(pooled["without"], 0.95),
        "p95_ratio_pooled": round(_ms(pooled["with"], 0.95) / _ms(pooled["without"], 0.95), 3),
        "p50_ms_with_view_median": median(with_view, "p50_ms"),
        "p50_ms_without_view_median": median(without, "p50_ms"),
        "sandbox_cpu_ms_per_call_with_view_median": median(with_view, "sandbox_cpu_ms_per_call"),
        "sandbox_cpu_ms_per_call_without_view_median": median(without, "sandbox_cpu_ms_per_call"),
        "sandbox_rss_after_mb_max": max(r["sandbox_rss_after_mb"] for r in runs),
        "room_cpu_ms_per_view_read_median": median(runs, "room_cpu_ms_per_view_read"),
        "view_share_of_room_cpu_estimate": round(
            statistics.median(r["room_cpu_ms_per_view_read"] for r in runs)
            / poll
            / statistics.median(r["sandbox_cpu_ms_per_call"] * r["calls_per_s"] for r in without),
            4,
        ),
        "max_seconds_to_flag": max(r["max_seconds_to_flag"] or 0 for r in with_view),
        "faults_flagged_right_every_round": all(r["faults_flagged_for_the_right_reason"] == r["faults"] for r in runs),
        "others_flagged_any_round": sorted({n for r in runs for n in r["others_flagged"]}),
        "failures": sum(r["failures"] for r in runs),
        "rounds": runs,
    }


def bench_hub(users: int) -> dict:
    """Memory per participant on a real JupyterHub room: the hub test (make test-hub) with ``users``
    participants, which writes its figures to artifacts/bench/hub.json (root only: real Unix users)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "tests/test_hub.py"],
        cwd=REPO,
        env={**os.environ, "HANDSON_HUB_USERS": str(users)},
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        return {"passed": False, "output": proc.stdout[-2000:]}
    return {"passed": True, **json.loads((OUT / "hub.json").read_text())}


def bench_lite() -> dict:
    """The static browser edition (make lite): its size, and in headless Chromium with a new profile
    and nothing outside the site reachable, page open → kernel idle and Run All → 01's first output
    (the kit's packages loaded and imported)."""
    from playwright.sync_api import sync_playwright

    from tests.support.browser import CHROMIUM, LITE_ARGS, SITE_LOAD_MS, local_context, menu, open_lite_notebook
    from tests.support.lite_build import served

    site = REPO / "artifacts" / "lite"
    subprocess.run(["make", "lite"], cwd=REPO, check=True, capture_output=True)
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    with served(site) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LITE_ARGS, headless=True)
        context, refused = local_context(browser, url)
        page = context.new_page()
        started = time.perf_counter()
        open_lite_notebook(page, url, "01_preparation.ipynb")
        idle = time.perf_counter() - started
        menu(page, "Edit", "Clear Outputs of All Cells")
        page.wait_for_function("() => document.querySelectorAll('.jp-OutputArea-output').length === 0")
        run_all = time.perf_counter()
        menu(page, "Run", "Run All Cells")
        page.wait_for_function(
            "() => document.querySelectorAll('.jp-OutputArea-output').length > 0", timeout=SITE_LOAD_MS
        )
        first = time.perf_counter() - run_all
        browser.close()
    return {
        "site_mb": round(size / 1e6, 1),
        "page_to_kernel_idle_s": round(idle, 1),
        "run_all_to_first_output_s": round(first, 1),
        "requests_outside_site": len(refused),
    }


def bench_suite() -> dict:
    """Wall time of make test once set up (make bench has installed what it needs)."""
    started = time.perf_counter()
    proc = subprocess.run(["make", "test"], cwd=REPO, capture_output=True, text=True)
    return {"make_test_s": round(time.perf_counter() - started, 1), "passed": proc.returncode == 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.bench")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--learners", default="1,10,50")
    parser.add_argument("--no-suite", action="store_true", help="skip timing the whole test command")
    parser.add_argument("--scale-only", action="store_true", help="only the simulated learners (implies --no-suite)")
    parser.add_argument(
        "--room-view",
        action="store_true",
        help="only issue 26's room view: the most learners, five faults, rounds with and without the view",
    )
    parser.add_argument("--lite", action="store_true", help="only the static browser edition (make lite)")
    parser.add_argument("--poll", type=float, default=3.0, help="seconds between reads of the view (--room-view)")
    parser.add_argument(
        "--hub-users",
        type=int,
        default=5,
        help="participants of the JupyterHub room measured for memory (root; 0 skips)",
    )
    args = parser.parse_args(argv)
    if args.lite:
        return _lite_main()
    if args.room_view:
        return _room_view_main(max(int(n) for n in args.learners.split(",")), args.rounds, args.poll)
    from handson_helpers.run import private_sandbox

    results: dict = {}
    counts = [int(n) for n in args.learners.split(",")]
    with private_sandbox("handson-bench-") as tmp:
        if not args.scale_only:
            results["sandbox"] = bench_sandbox(args.rounds)
            results["steps_2_2"] = bench_steps(args.rounds, tmp)
            results["notebooks"] = bench_notebooks()
            results["lite"] = bench_lite()
        results["scale"] = (
            bench_scale(counts)
            + bench_scale(counts, own_keys=True)
            + bench_scale([max(counts)], own_keys=True, pace=CLASSROOM)
        )
    if not args.scale_only and args.hub_users and os.geteuid() == 0:
        results["hub"] = bench_hub(args.hub_users)
    if not (args.no_suite or args.scale_only):
        results["suite"] = bench_suite()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    rows = [] if args.scale_only else _summary(results)
    for r in results["scale"]:
        rows.append(
            (
                f"{r['learners']:>2} learners 1→2.1→2.2→後始末, {r['signed_with']}, {r['pace']}",
                f"per call p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, max {r['max_ms']} ms; "
                f"{r['calls_per_s']} calls/s, sandbox CPU {r['sandbox_cpu_ms_per_call']} ms/call; "
                f"failures {r['failures']}, leaks {r['cross_learner_leaks']}; "
                f"sandbox RSS {r['sandbox_rss_after_mb']} MB",
            )
        )
    if "hub" in results:
        h = results["hub"]
        rows.append(
            (
                f"JupyterHub room, {h.get('participants', args.hub_users)} participants "
                "(server + kernel after 22; goal ≤ 250 MB)",
                f"PSS {h['memory_per_participant_after_22']['pss_mb_median']} MB, "
                f"RSS {h['memory_per_participant_after_22']['rss_mb_median']} MB per participant "
                f"(after 40: PSS {h['memory_per_participant_after_40']['pss_mb_median']} MB); "
                f"hub+proxy+room {h['hub_proxy_room_pss_mb']} MB; "
                f"about {h['participants_per_24_gib']} participants per 24 GiB"
                if h["passed"]
                else "FAILED (run make test-hub)",
            )
        )
    if "suite" in results:
        rows.append(
            (
                "make test without set-up (goal ≤ 120 s)",
                f"{results['suite']['make_test_s']} s, {'passed' if results['suite']['passed'] else 'FAILED'}",
            )
        )
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k.ljust(width)}  {v}" for k, v in rows))
    print(f"\nwritten to {OUT / 'results.json'}")
    return 0 if all(r["failures"] == 0 and r["cross_learner_leaks"] == 0 for r in results["scale"]) else 1


def _room_view_main(count: int, rounds: int, poll: float) -> int:
    """--room-view: written into results.json beside what the other benchmarks last wrote there."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="handson-bench-view-") as home:
        os.environ["HOME"] = home  # the learners' QR files
        r = bench_room_view(count, rounds, poll)
    OUT.mkdir(parents=True, exist_ok=True)
    written = json.loads((OUT / "results.json").read_text()) if (OUT / "results.json").exists() else {}
    (OUT / "results.json").write_text(json.dumps({**written, "room_view": r}, indent=2, ensure_ascii=False))
    print(
        f"{count} learners, {r['pace']}, five faults; {rounds} rounds with the view read every {poll:g} s, "
        f"{rounds} without, alternating\n"
        f"  p95 per call: {r['p95_ms_with_view_median']} ms with the view, {r['p95_ms_without_view_median']} ms "
        f"without (medians; ratio {r['p95_ratio_with_over_without']}, per pair {r['p95_ratio_per_pair']}, "
        f"median {r['p95_ratio_per_pair_median']}); every call of the rounds pooled: "
        f"{r['p95_ms_pooled_with_view']} / {r['p95_ms_pooled_without_view']} ms (ratio {r['p95_ratio_pooled']})\n"
        f"  p50: {r['p50_ms_with_view_median']} / {r['p50_ms_without_view_median']} ms; room CPU per call "
        f"{r['sandbox_cpu_ms_per_call_with_view_median']} / {r['sandbox_cpu_ms_per_call_without_view_median']} ms; "
        f"room RSS at most {r['sandbox_rss_after_mb_max']} MB; one read of the view costs the room "
        f"{r['room_cpu_ms_per_view_read_median']} ms of CPU (about {100 * r['view_share_of_room_cpu_estimate']:.2f} % "
        f"of the room's CPU for the learners, read every {poll:g} s)\n"
        f"  faults flagged for the right reason in every round: {r['faults_flagged_right_every_round']}; "
        f"slowest flag {r['max_seconds_to_flag']} s after its fault; others flagged: {r['others_flagged_any_round']}; "
        f"failures {r['failures']}\n\nwritten to {OUT / 'results.json'}"
    )
    right = r["faults_flagged_right_every_round"] and not r["others_flagged_any_round"] and not r["failures"]
    return 0 if right else 1


def _lite_row(r: dict) -> str:
    return (
        f"{r['site_mb']} MB; {r['page_to_kernel_idle_s']} s; {r['run_all_to_first_output_s']} s "
        f"({r['requests_outside_site']} requests outside the site)"
    )


def _lite_main() -> int:
    """--lite: written into results.json beside what the other benchmarks last wrote there."""
    r = bench_lite()
    OUT.mkdir(parents=True, exist_ok=True)
    written = json.loads((OUT / "results.json").read_text()) if (OUT / "results.json").exists() else {}
    (OUT / "results.json").write_text(json.dumps({**written, "lite": r}, indent=2, ensure_ascii=False))
    print(f"browser edition: site; page open → kernel idle; Run All → 01's first output: {_lite_row(r)}")
    print(f"\nwritten to {OUT / 'results.json'}")
    return 0 if r["requests_outside_site"] == 0 else 1


def _summary(results: dict) -> list[tuple[str, str]]:
    s, n = results["steps_2_2"], results["notebooks"]
    return [
        ("2.2 steps, aws CLI (median of rounds)", f"{s['cli_median_s']:.3f} s"),
        ("2.2 steps, handson_helpers", f"{s['kit_median_s']:.3f} s"),
        ("  ratio CLI / kit (goal ≥ 50×)", f"{s['ratio']}×"),
        ("sandbox cold start → first answer", f"{results['sandbox']['cold_start_to_first_call_median_s']:.3f} s"),
        ("sandbox RSS after a hands-on (goal ≤ 150 MB)", f"{n['sandbox_rss_after_hands_on_mb']} MB"),
        ("kernel start", f"{n['kernel_start_s']} s"),
        ("kernel start → 2.2 form shown and enabled", f"{n['kernel_start_to_form_shown_and_enabled_s']} s"),
        ("kernel max RSS, 01→90 in one kernel (goal ≤ 120 MB)", f"{n['kernel_max_rss_01_to_90_mb']} MB"),
        (
            "browser edition: site; page open → kernel idle; Run All → 01's first output",
            _lite_row(results["lite"]),
        ),
    ]


if __name__ == "__main__":
    sys.exit(main())
