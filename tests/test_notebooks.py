"""The notebooks: the seed's page structure, no secrets stored, and idempotent across kernel restarts."""
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import handson_helpers as hh
from handson_helpers import sandbox as sb
from handson_helpers.run import notebooks
from handson_helpers.settings import SEED_DIR_MFA_OUTFILE, expand

from helpers import DEVICE, PATH, USER, make_user_and_device, phone_codes
from secret_scan import scan_notebook, scan_repo
from test_bad_input import iam_state

REPO = Path(__file__).resolve().parents[1]
NB_DIR = REPO / "notebooks"
SECTIONS = ["手順の目的", "設定値の指定", "設定値の確認", "処理の実行", "完了確認", "手順の完了", "(参考) マネジメントコンソールの確認"]
STEPS = [p for p in notebooks() if not p.name.startswith("00_")]
QR = hh.mfa_outfile(SEED_DIR_MFA_OUTFILE, DEVICE)


def headings(nb):
    return [line[3:].split(" [")[0] for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines() if line.startswith("## ")]


def test_names_are_numbered_ascii_and_there_is_a_contents_notebook():
    names = [p.name for p in sorted(NB_DIR.glob("*.ipynb"))]
    assert names[0] == "00_contents.ipynb" and all(n.isascii() and n[:2].isdigit() for n in names)
    contents = nbformat.read(NB_DIR / "00_contents.ipynb", as_version=4).cells[0].source
    assert all(p.stem in contents for p in STEPS)


@pytest.mark.parametrize("path", STEPS, ids=lambda p: p.stem)
def test_every_section_keeps_the_seeds_page_structure(path):
    nb = nbformat.read(path, as_version=4)
    title = nb.cells[0].source.splitlines()[0]
    assert title.startswith("# ") and any("\u3040" <= ch <= "\u9fff" for ch in title) and path.stem not in title
    assert headings(nb) == SECTIONS
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"


def test_stored_notebooks_and_the_repo_hold_no_secret():
    assert scan_repo(REPO) == []
    for path in NB_DIR.glob("*.ipynb"):
        nb = json.loads(path.read_text())
        assert scan_notebook(nb) == [], path.name
        assert "widgets" not in nb["metadata"]


def test_the_workplace_scanner_agrees_when_it_is_present():
    """CI keeps a copy of shared/ beside the clone; the project's own scan above runs everywhere."""
    scanner = REPO.parent / "shared" / "tools" / "scan_secrets.py"
    if scanner.exists():
        proc = subprocess.run([sys.executable, str(scanner), str(REPO)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout
    assert scan_repo(REPO) == []


def prepare(stem, ctx):
    """IAM as it is when a learner opens this notebook after the ones before it."""
    if stem.startswith("21"):
        hh.create_user(ctx, USER, PATH)
    if stem.startswith(("22", "90")):
        make_user_and_device(ctx, QR)
    if stem.startswith("90"):
        serial = f"arn:aws:iam::123456789012:mfa/{DEVICE}"
        hh.enable_mfa_device(ctx, USER, serial, *phone_codes(expand(QR)))


def execute(nb):
    NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=False, shutdown_kernel="immediate", resources={"metadata": {"path": str(NB_DIR)}}).execute()
    return nb


def check_outputs(nb):
    idx = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("## 完了確認"))
    cell = next(c for c in nb.cells[idx:] if c.cell_type == "code")
    return [o.get("data", {}).get("text/plain", o.get("text", "")) for o in cell.outputs]


def end_state(iam):
    return iam_state(iam), expand(QR).exists()


def without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs = []
    return nb


def start_over(path, ctx):
    """IAM and the disk as a learner finds them when opening this notebook."""
    sb.reset()
    expand(QR).unlink(missing_ok=True)
    prepare(path.stem, ctx)


_references = {}


def reference(path, ctx, iam):
    """End state and 完了確認 of an uninterrupted run, once per process (a notebook's cases share an xdist worker)."""
    if path not in _references:
        start_over(path, ctx)
        ran = execute(without_outputs(path))
        _references[path] = end_state(iam), check_outputs(ran)
        assert any("✔" in text for text in _references[path][1])
    return _references[path]


BOUNDARIES = [
    pytest.param(p, i, id=f"{p.stem}-before-cell-{i}", marks=pytest.mark.xdist_group(f"restart-{p.stem}"))  # one reference run per notebook
    for p in STEPS
    for i in [i for i, c in enumerate(nbformat.read(p, as_version=4).cells) if c.cell_type == "code"][1:]
]


@pytest.mark.parametrize("path, boundary", BOUNDARIES)
def test_a_kernel_restart_at_any_cell_boundary_reaches_the_same_end(path, boundary, ctx, iam, capsys):
    want_state, want_check = reference(path, ctx, iam)
    start_over(path, ctx)
    partial = without_outputs(path)
    partial.cells = partial.cells[:boundary]
    execute(partial)  # the kernel is killed here: a restart mid-notebook
    rerun = execute(without_outputs(path))
    assert end_state(iam) == want_state
    assert check_outputs(rerun) == want_check
    assert scan_notebook(rerun) == []
    capsys.readouterr()
