"""make repeat: the hub test and the browser tests N times in a row from a fresh clone.

Code that starts servers, kernels or a hub is done when it is green N of N times, not once. This
clones the committed HEAD into a temporary folder, sets it up once (make dev, and make lite for the
static site), then runs ``make test-hub`` and the browser tests (JupyterLab, Notebook 7, the static
site) REPEAT times (5 by default), and reports each run: its result, its time, and every "Address
already in use" in the hub's log. Exit 1 unless all are green.
Results: artifacts/repeat.json in this checkout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RACE = "Address already in use"
BROWSER_TESTS = ["tests/test_e2e_browser.py", "tests/test_e2e_notebook7.py", "tests/test_e2e_lite.py"]


def _timed(args: list[str], cwd: Path, log: Path) -> tuple[bool, float]:
    started = time.monotonic()
    with open(log, "w") as out:
        done = subprocess.run(args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=False)
    return done.returncode == 0, round(time.monotonic() - started, 1)


def _tail(log: Path) -> str:
    lines = log.read_text(errors="replace").splitlines()
    return lines[-1] if lines else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make repeat", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the clone and its logs")
    args = parser.parse_args(argv)
    if subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip():
        print("note: uncommitted changes are not in the clone; it runs the committed HEAD", flush=True)
    work = Path(tempfile.mkdtemp(prefix="handson-repeat-"))
    clone = work / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout.strip()
    ok, seconds = _timed(["make", "dev", "lite"], clone, work / "setup.log")
    print(f"fresh clone of {head} in {clone}: make dev lite {'ok' if ok else 'FAILED'} in {seconds} s", flush=True)
    if not ok:
        print(_tail(work / "setup.log"))
        return 1
    runs = []
    for n in range(1, args.runs + 1):
        logs = clone / "artifacts" / "hub"
        before = set(logs.glob("*.log")) if logs.exists() else set()
        hub_ok, hub_s = _timed(["make", "test-hub"], clone, work / f"hub-{n}.log")
        races = sum(
            log.read_text(errors="replace").count(RACE)
            for log in (set(logs.glob("*.log")) - before if logs.exists() else ())
        )
        races += (work / f"hub-{n}.log").read_text(errors="replace").count(RACE)
        browser_ok, browser_s = _timed(
            [str(clone / ".venv" / "bin" / "python"), "-m", "pytest", "-p", "no:xdist", *BROWSER_TESTS],
            clone,
            work / f"browser-{n}.log",
        )
        runs.append(
            {
                "run": n,
                "hub": hub_ok,
                "hub_s": hub_s,
                "browser": browser_ok,
                "browser_s": browser_s,
                "address_in_use": races,
            }
        )
        print(
            f"run {n}/{args.runs}: hub {'green' if hub_ok else 'RED'} ({hub_s} s; {_tail(work / f'hub-{n}.log')}), "
            f"browser {'green' if browser_ok else 'RED'} ({browser_s} s; {_tail(work / f'browser-{n}.log')}), "
            f"'{RACE}' in logs: {races}",
            flush=True,
        )
    hub_green, browser_green = sum(r["hub"] for r in runs), sum(r["browser"] for r in runs)
    races = sum(r["address_in_use"] for r in runs)
    summary = {
        "commit": head,
        "runs": runs,
        "hub_green": hub_green,
        "browser_green": browser_green,
        "address_in_use": races,
    }
    (REPO / "artifacts").mkdir(exist_ok=True)
    (REPO / "artifacts" / "repeat.json").write_text(json.dumps(summary, indent=2))
    print(
        f"{head}: hub test {hub_green} of {args.runs} green, browser tests {browser_green} of {args.runs} green, "
        f"'{RACE}': {races}; logs in {work}"
    )
    if not args.keep and hub_green == browser_green == args.runs:
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return 0 if hub_green == browser_green == args.runs and races == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
