"""The notebooks: the seed's page structure, no secrets stored, and idempotent across kernel restarts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers import (
    DEVICE,
    PATH,
    PHONE,
    USER,
    AsyncIPCKernelManager,
    make_user_and_device,
    phone_codes,
    terminal_env,
    typed,
)
from nbclient import NotebookClient
from secret_scan import scan_notebook, scan_repo, scan_text
from test_bad_input import iam_state

import handson_helpers as hh
from handson_helpers import sandbox as sb
from handson_helpers.run import notebooks
from handson_helpers.settings import SEED_DIR_ACCESS_KEY, SEED_DIR_MFA_OUTFILE, expand

REPO = Path(__file__).resolve().parents[1]
NB_DIR = REPO / "notebooks"
SECTIONS = [
    "手順の目的",
    "設定値の指定",
    "設定値の確認",
    "処理の実行",
    "完了確認",
    "手順の完了",
    "(参考) マネジメントコンソールの確認",
]
STEPS = [p for p in notebooks() if not p.name.startswith("00_")]
QR = hh.mfa_outfile(SEED_DIR_MFA_OUTFILE, DEVICE)
KEY_FILE = hh.access_key_file(SEED_DIR_ACCESS_KEY, USER)


def headings(nb):
    return [
        line[3:].split(" [")[0]
        for c in nb.cells
        if c.cell_type == "markdown"
        for line in c.source.splitlines()
        if line.startswith("## ")
    ]


def test_names_are_numbered_ascii_and_there_is_a_contents_notebook():
    names = [p.name for p in sorted(NB_DIR.glob("*.ipynb"))]
    assert names[0] == "00_contents.ipynb" and all(n.isascii() and n[:2].isdigit() for n in names)
    contents = nbformat.read(NB_DIR / "00_contents.ipynb", as_version=4).cells[0].source
    assert all(p.stem in contents for p in STEPS)


def test_every_link_between_notebooks_leads_to_one():
    import re

    targets = {
        link
        for path in notebooks()
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "markdown"
        for link in re.findall(r"\]\(([^)#]+\.ipynb)\)", cell.source)
    }
    assert {"22_enable_virtual_mfa_device.ipynb", "90_cleanup.ipynb"} <= targets
    assert [t for t in targets if not (NB_DIR / t).exists()] == []


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


def test_stored_outputs_show_a_neutral_home_not_the_rehearsals():
    """Issue 24 (10): the rehearsal's temporary HOME read as if it were the learner's."""
    from handson_helpers.run import NEUTRAL_HOME

    texts = [
        json.dumps(c.get("outputs", []), ensure_ascii=False)
        for p in notebooks()
        for c in nbformat.read(p, as_version=4).cells
    ]
    assert not [t for t in texts if "/tmp/handson-" in t]
    assert any(f"{NEUTRAL_HOME}/environment/" in t for t in texts)


# What an output may keep after nbval's sanitizer: the policy language's version is a constant.
CONSTANT_DATES = {"2012-10-17"}


def _sanitizers():
    import configparser

    config = configparser.ConfigParser()
    config.read(Path(__file__).with_name("nbval_sanitize.cfg"))
    return [(config[s]["regex"], config[s]["replace"]) for s in config.sections()]


def test_stored_outputs_hold_no_date_that_nbval_would_compare():
    """A stored output with today's date passes today and fails tomorrow: every date must be sanitized."""
    import re

    leftovers = []
    for path in notebooks():
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                texts = [output.get("text", "")] + [v for v in output.get("data", {}).values() if isinstance(v, str)]
                for text in texts:
                    for regex, replace in _sanitizers():
                        text = re.sub(regex, replace, text)
                    leftovers += [
                        (path.name, d)
                        for d in re.findall(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}:\d{2}", text)
                        if d not in CONSTANT_DATES
                    ]
    assert leftovers == []


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
    if stem.startswith(("22", "23", "31", "40", "45", "90", "95")):
        make_user_and_device(ctx, QR)
    if stem.startswith(("23", "31", "40", "45", "90", "95")):
        serial = f"arn:aws:iam::123456789012:mfa/{DEVICE}"
        hh.enable_mfa_device(ctx, USER, serial, *phone_codes(expand(QR)))
    if stem.startswith(("40", "45", "90", "95")):
        hh.create_access_key(ctx, USER, KEY_FILE)
    if stem.startswith(("45", "90", "95")):
        hh.put_mfa_policy(ctx, USER)


def execute(nb, zygote):
    """Run every cell in a new kernel, then kill it (a kernel forked by the tests' fork server: a new process)."""
    options = {"timeout": 120, "store_widget_state": False, "shutdown_kernel": "immediate"}
    return NotebookClient(
        nb,
        kernel_name="python3",
        kernel_manager_class=zygote.kernel_manager_class,
        resources={"metadata": {"path": str(NB_DIR)}},
        **options,
    ).execute()


def check_outputs(nb):
    idx = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("## 完了確認"))
    cell = next(c for c in nb.cells[idx:] if c.cell_type == "code")
    return [o.get("data", {}).get("text/plain", o.get("text", "")) for o in cell.outputs]


def end_state(iam):
    users = [u["UserName"] for u in iam.list_users()["Users"]]
    access = [
        (len(iam.list_access_keys(UserName=u)["AccessKeyMetadata"]), iam.list_user_policies(UserName=u)["PolicyNames"])
        for u in users
    ]
    return iam_state(iam), expand(QR).exists(), access, expand(KEY_FILE).exists()


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
    expand(KEY_FILE).unlink(missing_ok=True)
    prepare(path.stem, ctx)


_references = {}


def reference(path, ctx, iam, zygote):
    """End state and 完了確認 of an uninterrupted run, once per process (a notebook's cases share an xdist worker)."""
    if path not in _references:
        start_over(path, ctx)
        ran = execute(without_outputs(path), zygote)
        _references[path] = end_state(iam), check_outputs(ran)
        assert any("✔" in text for text in _references[path][1])
    return _references[path]


PROBE = """
import json, os, sys
already = sorted(name for name in sys.modules if name.startswith(("handson_helpers", "awscli", "ipykernel_launcher")))
import boto3, botocore, handson_helpers
seen = {"already": already, "path": sys.path, "argv0": sys.argv[0], "cwd": os.getcwd(), "env": dict(os.environ), \
"umask": os.umask(0o22)}
print(json.dumps({**seen, "botocore": botocore.__file__, "boto3": boto3.__version__}))
"""


def test_a_forked_kernel_is_a_kernel_as_jupyter_starts_it(zygote):
    """The restart sweep's kernels come from the tests' fork server: a new process that has run and
    loaded nothing of the kit, with the path, arguments, environment and libraries of a real one."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    seen = []
    for forked in (False, True):
        manager = zygote.kernel_manager_class if forked else AsyncIPCKernelManager
        ran = NotebookClient(
            nb,
            kernel_name="python3",
            kernel_manager_class=manager,
            timeout=60,
            shutdown_kernel="immediate",
            resources={"metadata": {"path": str(NB_DIR)}},
        ).execute()
        seen.append(json.loads(ran.cells[0].outputs[0]["text"]))
    real, forked = seen
    assert forked == real and real["already"] == [] and "awscli" not in real["botocore"]


BOUNDARIES = [
    pytest.param(
        p, i, id=f"{p.stem}-before-cell-{i}", marks=pytest.mark.xdist_group(f"restart-{p.stem}")
    )  # one reference run per notebook
    for p in STEPS
    for i in [i for i, c in enumerate(nbformat.read(p, as_version=4).cells) if c.cell_type == "code"][1:]
]


@pytest.fixture
def files_as_found():
    """The restart cases write the hands-on's own QR and key files under the worker's HOME: leave none
    behind for a later test there (a stale key file once made 23 ask codes for ever)."""
    yield
    expand(QR).unlink(missing_ok=True)
    expand(KEY_FILE).unlink(missing_ok=True)


@pytest.mark.parametrize("path, boundary", BOUNDARIES)
def test_a_kernel_restart_at_any_cell_boundary_reaches_the_same_end(
    path, boundary, ctx, iam, zygote, capsys, files_as_found
):
    want_state, want_check = reference(path, ctx, iam, zygote)
    start_over(path, ctx)
    partial = without_outputs(path)
    partial.cells = partial.cells[:boundary]
    execute(partial, zygote)  # the kernel is killed here: a restart mid-notebook
    rerun = execute(without_outputs(path), zygote)
    assert end_state(iam) == want_state
    assert check_outputs(rerun) == want_check
    assert scan_notebook(rerun) == [] and scan_text(json.dumps(rerun)) == []
    capsys.readouterr()


SEED = REPO.parent / "shared" / "seed" / "000_4a614374df4f0cb5.txt"


def seed_blocks(text):
    """The page's shell blocks: what follows 'コマンド:' or '変数の確認:' up to its result."""
    lines, blocks = text.splitlines(), []
    for i, line in enumerate(lines):
        if line.strip() in ("コマンド:", "変数の確認:"):
            body = []
            for following in lines[i + 2 :]:
                if following.startswith(("結果", "下段", "コマンド:", "仮想MFAデバイスの有効化")):
                    break
                body.append(following)
            while body and not body[-1].strip():
                body.pop()
            blocks.append("\n".join(body))
    return blocks


def shown_blocks(nb):
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/plain", "")
            for label in ("コマンド:\n", "変数の確認:\n", "変数の設定:\n"):
                if text.startswith(label):
                    texts.append(text[len(label) :].split("\n結果:\n")[0])
    return texts


# The page's shell blocks, kept with the tests so that a clone without the workplace's shared
# folder checks them too; where the seed is present, the copy must equal it.
SEED_BLOCKS = Path(__file__).parent / "data" / "seed-2.2-blocks.txt"


def test_the_kept_copy_of_the_seeds_blocks_is_the_seeds():
    kept = SEED_BLOCKS.read_text(encoding="utf-8").rstrip("\n").split("\n\n%%\n\n")
    if SEED.exists():
        assert kept == seed_blocks(SEED.read_text(encoding="utf-8"))
    assert len(kept) == 6


def test_22_shows_every_command_of_the_seed_verbatim():
    """Each shell block of section 2.2 appears in the stored 22 notebook as the page writes it."""
    expected = SEED_BLOCKS.read_text(encoding="utf-8").rstrip("\n").split("\n\n%%\n\n")
    assert len(expected) == 6 and expected[1].startswith("AWS_ID=$( \\")
    shown = shown_blocks(nbformat.read(NB_DIR / "22_enable_virtual_mfa_device.ipynb", as_version=4))
    for block in expected:
        assert block in shown, f"not shown verbatim:\n{block}"


def seed_assignments(text):
    """The page's 変数の設定 blocks: what follows '変数の設定:' and a blank line, up to the next blank line."""
    lines, blocks = text.splitlines(), []
    for i, line in enumerate(lines):
        if line.strip() == "変数の設定:":
            body = []
            for following in lines[i + 2 :]:
                if not following.strip():
                    break
                body.append(following)
            blocks.append("\n".join(body))
    return blocks


SEED_ASSIGNMENTS = Path(__file__).parent / "data" / "seed-2.2-assignments.txt"


def test_22_shows_every_variable_setting_of_the_seed_and_no_code():
    """Issue 24 (9): the page's DIR/FILE_MFA_OUTFILE lines and the two codes' assignments, the codes as
    the page's placeholders, within the blocks a terminal user copies; never a code's digits."""
    kept = SEED_ASSIGNMENTS.read_text(encoding="utf-8").rstrip("\n").split("\n\n%%\n\n")
    if SEED.exists():
        assert kept == seed_assignments(SEED.read_text(encoding="utf-8"))
    assert len(kept) == 7 and kept[4].startswith('FILE_MFA_OUTFILE="${DIR_MFA_OUTFILE}/${MFA_DEVICE_NAME}.png"')
    shown = shown_blocks(nbformat.read(NB_DIR / "22_enable_virtual_mfa_device.ipynb", as_version=4))
    for block in kept:
        assert any(block in text for text in shown), f"not shown verbatim:\n{block}"
    import re

    assert not [t for t in shown if re.search(r"MFA_AUTH_CODE[12]=\S*\d{6}", t)]


SHELL_LABELS = ("ターミナルで同じ変数を使う場合の変数の設定:\n", "変数の設定:\n", "変数の確認:\n", "コマンド:\n")


def pasted(nb) -> list[str]:
    """The shell text a learner copies from a stored notebook, in order."""
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/plain", "")
            label = next((lab for lab in SHELL_LABELS if text.startswith(lab)), None)
            if label:
                shell = typed(
                    text[len(label) :].split("\n結果:\n")[0]
                )  # the placeholders of the codes, typed from the phone
                if "\n結果:\nAn error occurred (" in text:  # refused on purpose
                    shell = f"if (\n{shell}\n); then echo 'AWS accepted what it must refuse' >&2; exit 97; fi"
                texts.append(shell)
    return texts


def test_pasting_the_stored_notebooks_into_a_terminal_reproduces_each_section(sandbox, iam, tmp_path, zygote):
    """10 → 21 → 22 → 23 → 31 → 40 → 90, from the stored outputs alone, through the aws CLI against the
    sandbox. 45 runs in a kernel between them (its commands need the session it keeps in the kernel),
    so that 90's stored commands meet what the run order leaves: 45's policy and backup device too."""
    env = terminal_env(
        sandbox, tmp_path, PHONE=PHONE, PATH=f"{zygote.bin}:{Path(sys.executable).parent}:{os.environ['PATH']}"
    )
    qr = expand(QR)
    expected_after = {
        "10_create_iam_user": lambda: [u["UserName"] for u in iam.list_users(PathPrefix=PATH)["Users"]] == [USER],
        "21_create_virtual_mfa_device": lambda: (
            len(iam.list_virtual_mfa_devices()["VirtualMFADevices"]) == 1 and qr.exists()
        ),
        "22_enable_virtual_mfa_device": lambda: (
            [d.get("User", {}).get("UserName") for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]] == [USER]
        ),
        "23_resync_virtual_mfa_device": lambda: (
            [d.get("User", {}).get("UserName") for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]] == [USER]
        ),
        "31_create_access_key": lambda: (
            len(iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]) == 1 and keyfile.exists()
        ),
        "40_mfa_protected_access": lambda: (
            iam.list_user_policies(UserName=USER)["PolicyNames"] == ["handson-cli-require-mfa"]
        ),
        "45_add_backup_mfa_device": lambda: len(iam.list_mfa_devices(UserName=USER)["MFADevices"]) == 2,
        "90_cleanup": lambda: (
            iam.list_users()["Users"] == []
            and iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
            and not qr.exists()
            and not keyfile.exists()
        ),
    }
    keyfile = expand(KEY_FILE)
    keyfile.unlink(missing_ok=True)
    qr.unlink(missing_ok=True)
    for stem, done in expected_after.items():
        if stem.startswith("45"):
            execute(nbformat.read(NB_DIR / f"{stem}.ipynb", as_version=4), zygote)
            assert done(), "45 did not add the backup device"
            continue
        commands = pasted(nbformat.read(NB_DIR / f"{stem}.ipynb", as_version=4))
        assert any(c.startswith("aws iam") for c in commands), stem
        proc = subprocess.run(
            ["bash", "-c", "set -eu\n" + "\n".join(commands)],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, f"{stem}: {proc.stderr[-1500:]}"
        assert done(), f"pasting {stem} did not reproduce the section"
