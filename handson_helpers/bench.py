"""Benchmarks (make bench): the kit against the seed's aws CLI, the sandbox, kernels, and scale.

Figures are ratios and medians measured in one run on one machine; they are printed and written
to artifacts/bench/results.json, never asserted by tests.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "artifacts" / "bench"
USER, PATH, DEVICE = "handson-cli-basic-user", "/handson-cli/", "handson-cli-basic-user-mfa"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _prepare(ctx, qr: str) -> str:
    """User and device ready for 2.2; output of the helpers is discarded."""
    import handson_helpers as hh

    with contextlib.redirect_stdout(io.StringIO()):
        hh.create_user(ctx, USER, PATH)
        return hh.create_virtual_mfa_device(ctx, DEVICE, qr)


def bench_steps(rounds: int, home: Path) -> dict:
    """2.2's four steps: the seed's aws CLI processes versus the helpers in one process."""
    import handson_helpers as hh
    from handson_helpers import sandbox, totp
    from handson_helpers.settings import expand

    aws = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws") or "aws"
    ctx = hh.connect(show=False)
    qr = str(home / "qr" / f"{DEVICE}.png")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(sandbox.client_env(sandbox.ensure_running()), AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
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
            ["iam", "enable-mfa-device", "--user-name", USER, "--serial-number", f"arn:aws:iam::123456789012:mfa/{DEVICE}", "--authentication-code1", codes[0], "--authentication-code2", codes[1]],
            ["iam", "list-virtual-mfa-devices", "--query", f"VirtualMFADevices[?User.UserName == `{USER}`].User.UserName", "--output", "text"],
        ):
            subprocess.run([aws, *args], env=env, check=True, capture_output=True)
        cli_times.append(time.perf_counter() - started)

        sandbox.reset()
        _prepare(ctx, qr)
        codes = totp.consecutive_codes(totp.secret_from_qr(expand(qr)))
        with contextlib.redirect_stdout(io.StringIO()):
            started = time.perf_counter()
            account = hh.get_account_id(ctx)
            serial = hh.find_device_serial(ctx, account, DEVICE)
            hh.enable_mfa_device(ctx, USER, serial, *codes)
            hh.verify_mfa_enabled(ctx, USER)
            kit_times.append(time.perf_counter() - started)
    cli, kit = statistics.median(cli_times), statistics.median(kit_times)
    return {"rounds": rounds, "cli_median_s": round(cli, 4), "kit_median_s": round(kit, 4), "ratio": round(cli / kit, 1)}


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

    from . import sandbox
    from .run import NOTEBOOKS, notebooks

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
    cells.append(nbformat.v4.new_code_cell("import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"))
    whole = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    # 22 measured on its own: a new kernel that finds user and device from 10 and 21 already there.
    client = NotebookClient(whole, timeout=300, kernel_name="python3", store_widget_state=False, resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    max_rss_mb = int(whole.cells[-1].outputs[0]["text"]) / 1024

    sandbox.reset()
    pre = [c for p in notebooks() if p.name[:2] in ("10", "21") for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code"]
    NotebookClient(nbformat.v4.new_notebook(cells=pre, metadata=whole.metadata), timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    nb22 = nbformat.read(next(p for p in notebooks() if p.name.startswith("22_")), as_version=4)
    code = [c for c in nb22.cells if c.cell_type == "code"]
    upto = next(i for i, c in enumerate(code) if "enable_with_form" in c.source)
    start_cell = nbformat.v4.new_code_cell("import time as _t; print(_t.time())")
    end_cell = nbformat.v4.new_code_cell("print(_t.time())")
    part = nbformat.v4.new_notebook(cells=[start_cell, *code[: upto + 1], end_cell], metadata=whole.metadata)
    started = time.time()
    NotebookClient(part, timeout=120, kernel_name="python3", store_widget_state=False, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    kernel_up = float(part.cells[0].outputs[0]["text"])
    form_done = float(part.cells[-1].outputs[0]["text"])
    return {
        "kernel_start_s": round(kernel_up - started, 2),
        "kernel_start_to_form_shown_and_enabled_s": round(form_done - started, 2),
        "kernel_max_rss_01_to_90_mb": round(max_rss_mb, 1),
        "sandbox_rss_after_hands_on_mb": round(_rss_mb(sandbox.ensure_running().pid), 1),
    }


def _learner(n: int, latencies: list, failures: list, leaks: list) -> None:
    import handson_helpers as hh
    from handson_helpers import totp
    from handson_helpers.settings import expand

    user, device = f"{USER}-p{n:02d}", f"{DEVICE}-p{n:02d}"
    qr = str(Path.home() / "qr" / f"{device}.png")  # HOME is the benchmark's private folder

    def timed(fn, *args):
        started = time.perf_counter()
        result = fn(*args)
        latencies.append(time.perf_counter() - started)
        return result

    try:
        ctx = hh.connect(show=False)
        timed(hh.create_user, ctx, user, PATH)
        serial = timed(hh.create_virtual_mfa_device, ctx, device, qr)
        timed(hh.enable_mfa_device, ctx, user, serial, *totp.consecutive_codes(totp.secret_from_qr(expand(qr))))
        timed(hh.verify_mfa_enabled, ctx, user)
        mine = [d["SerialNumber"] for d in ctx.iam.list_mfa_devices(UserName=user)["MFADevices"]]
        if mine != [serial]:
            leaks.append((user, mine))
        plan = timed(hh.plan_cleanup, ctx, user, PATH, device, qr)
        if plan.serial != serial or plan.user_name != user:
            leaks.append((user, plan))
        timed(hh.run_cleanup, ctx, plan)
        timed(hh.verify_cleanup, ctx, user, device, qr)
    except Exception as exc:  # noqa: BLE001 - a benchmark counts failures instead of stopping
        failures.append(f"{user}: {type(exc).__name__}: {exc}")


def bench_scale(counts: list[int]) -> list[dict]:
    from . import sandbox

    results = []
    for count in counts:
        sandbox.reset()
        latencies: list[float] = []
        failures: list[str] = []
        leaks: list[tuple] = []
        threads = [threading.Thread(target=_learner, args=(n, latencies, failures, leaks)) for n in range(count)]
        with contextlib.redirect_stdout(io.StringIO()):
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            total = time.perf_counter() - started
        ordered = sorted(latencies)
        results.append(
            {
                "learners": count,
                "total_s": round(total, 2),
                "p50_ms": round(1000 * ordered[len(ordered) // 2], 1) if ordered else None,
                "p95_ms": round(1000 * ordered[int(len(ordered) * 0.95) - 1], 1) if ordered else None,
                "failures": len(failures),
                "cross_learner_leaks": len(leaks),
                "first_failures": failures[:3],
            }
        )
    return results


def bench_suite() -> dict:
    """Wall time of make test once set up (make bench has installed what it needs)."""
    started = time.perf_counter()
    proc = subprocess.run(["make", "test"], cwd=REPO, capture_output=True, text=True)
    return {"make_test_s": round(time.perf_counter() - started, 1), "passed": proc.returncode == 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handson_helpers.bench")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--learners", default="1,10,50")
    parser.add_argument("--no-suite", action="store_true", help="skip timing the whole test command")
    args = parser.parse_args(argv)
    from .run import private_sandbox

    results: dict = {}
    with private_sandbox("handson-bench-") as tmp:
        results["sandbox"] = bench_sandbox(args.rounds)
        results["steps_2_2"] = bench_steps(args.rounds, tmp)
        results["notebooks"] = bench_notebooks()
        results["scale"] = bench_scale([int(n) for n in args.learners.split(",")])
    if not args.no_suite:
        results["suite"] = bench_suite()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    s, n = results["steps_2_2"], results["notebooks"]
    rows = [
        ("2.2 steps, aws CLI (median of rounds)", f"{s['cli_median_s']:.3f} s"),
        ("2.2 steps, handson_helpers", f"{s['kit_median_s']:.3f} s"),
        ("  ratio CLI / kit (goal ≥ 50×)", f"{s['ratio']}×"),
        ("sandbox cold start → first answer", f"{results['sandbox']['cold_start_to_first_call_median_s']:.3f} s"),
        ("sandbox RSS after a hands-on (goal ≤ 150 MB)", f"{n['sandbox_rss_after_hands_on_mb']} MB"),
        ("kernel start", f"{n['kernel_start_s']} s"),
        ("kernel start → 2.2 form shown and enabled", f"{n['kernel_start_to_form_shown_and_enabled_s']} s"),
        ("kernel max RSS, 01→90 in one kernel (goal ≤ 120 MB)", f"{n['kernel_max_rss_01_to_90_mb']} MB"),
    ]
    for r in results["scale"]:
        rows.append((f"{r['learners']:>2} learners 1→2.1→2.2→後始末", f"{r['total_s']} s, p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, failures {r['failures']}, leaks {r['cross_learner_leaks']}"))
    if "suite" in results:
        rows.append(("make test without set-up (goal ≤ 120 s)", f"{results['suite']['make_test_s']} s, {'passed' if results['suite']['passed'] else 'FAILED'}"))
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k.ljust(width)}  {v}" for k, v in rows))
    print(f"\nwritten to {OUT / 'results.json'}")
    return 0 if all(r["failures"] == 0 and r["cross_learner_leaks"] == 0 for r in results["scale"]) else 1


if __name__ == "__main__":
    sys.exit(main())
