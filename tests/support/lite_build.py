"""``make lite``: the static JupyterLite site of the hands-on, from pinned parts, nothing left on a CDN.

Build tooling no learner needs (the in-browser parts are handson_helpers/lite/). Run with the lite
build environment's Python (.venv-lite, locks/lite.txt) from the repository:
``python -m tests.support.lite_build --out artifacts/lite``. What goes in:

- JupyterLite and its Pyodide kernel (the build environment's jupyterlite-core and
  jupyterlite-pyodide-kernel, with jupyterlab-widgets' front end);
- the Pyodide core from npm (``npm pack pyodide@PYODIDE``, checked against its integrity), under
  ``static/pyodide/``: the npm package ships no package, so beside it go
- the pure-Python wheels the notebooks need, from PyPI, hash-checked (locks/lite-wheels.txt), botocore
  with the API models of IAM and STS only;
  markupsafe and pyyaml, which PyPI has only as native wheels, built pure from their sdists (CC=false);
  cryptography's stand-in (below); the kit's own wheel;
- a ``pyodide-lock.json`` naming only those wheels, each with its dependencies, so that the kernel's
  ``import handson_helpers`` loads the kit and everything it needs from the site itself;
- the notebooks.

``jupyter-lite.json`` points the kernel at that Pyodide and turns the PyPI fallback off.

cryptography has no WebAssembly build reachable here and moto imports it at module load, for server
certificates only. Its stand-in (``STANDIN``) imports and raises on any use: no step of the hands-on
uses it (the browser test runs every notebook with it).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import email.parser
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
PYODIDE = "314.0.6"  # what jupyterlite-pyodide-kernel 0.8.6 expects (its constants.PYODIDE_VERSION)
# npm's dist.integrity of pyodide@PYODIDE
PYODIDE_INTEGRITY = "sha512-BKDTJyIqFxC4BExLqeRS3f5xvXZIjOt8C3zGLN/Cc7tFxSwvKVhVkchQQ2AGLOtR4YrVOIFxbV8poyDOOmWwxQ=="
PYODIDE_CORE = ("pyodide.asm.mjs", "pyodide.asm.wasm", "pyodide.mjs", "pyodide.js", "python_stdlib.zip", "package.json")
WHEELS_LOCK = REPO / "locks" / "lite-wheels.txt"
SDISTS_LOCK = REPO / "locks" / "lite-sdists.txt"  # built pure (CC=false): PyPI has only native wheels
# The browser's Python: the markers a wheel's requirements are read with
BROWSER = {**default_environment(), "sys_platform": "emscripten", "platform_system": "Emscripten"}
BROWSER.update(python_version="3.14", python_full_version="3.14.2", platform_machine="wasm32")
# The kit's dependencies the browser does without: the kernel brings its own ipykernel; the forms
# ask in text there (no jupyter-ui-poll); the QR PNG is drawn by qrcode with pypng, not pillow, and
# shown as SVG (lite/qr.py);
# nbclient/nbformat and zxing-cpp serve make demo and the tests, never a notebook
KIT_WITHOUT = {"ipykernel", "jupyter-ui-poll", "nbclient", "nbformat", "pillow", "zxing-cpp"}
KIT_WITH = ["pypng"]
SETTINGS = "@jupyterlite/pyodide-kernel-extension:kernel"
# Widget state is not saved into a notebook: the QR's widget (lite/qr.py) must never reach the learner's
# saved file. JupyterLab's default too; written out so that a site without it is refused (_check)
WIDGETS = "@jupyter-widgets/jupyterlab-manager:plugin"
OVERRIDES = {WIDGETS: {"saveState": False}}

STANDIN_VERSION = "0+handson.standin"
_REFUSAL = (
    "def __getattr__(name):\n"
    "    raise NotImplementedError(\n"
    "        f'cryptography.{__name__.split(\".\", 1)[-1]}.{name}: this is the browser edition\\'s stand-in "
    "(no WebAssembly build of cryptography); the hands-on never needs it'\n"
    "    )\n"
)
STANDIN = {
    "cryptography/__init__.py": (
        '"""Stand-in for cryptography in the hands-on\'s browser edition: moto imports it for IAM server\n'
        'certificates, which the hands-on never touches. Importable; any use raises."""\n\n'
        f"__version__ = {STANDIN_VERSION!r}\n"
    ),
    "cryptography/x509/__init__.py": _REFUSAL,
    "cryptography/hazmat/__init__.py": "",
    "cryptography/hazmat/backends/__init__.py": (
        "def default_backend():\n"
        "    raise NotImplementedError('cryptography stand-in: the hands-on never needs a backend')\n"
    ),
}


def log(message: str) -> None:
    print(f"lite: {message}", flush=True)


def run(*command: str | Path, cwd: Path | None = None, env: dict | None = None) -> None:
    subprocess.run([str(c) for c in command], check=True, cwd=cwd, env=env)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pyodide(cache: Path, dest: Path) -> None:
    """The Pyodide core from the npm registry, checked against the integrity npm publishes."""
    tgz = cache / f"pyodide-{PYODIDE}.tgz"
    if not tgz.exists():
        run("npm", "pack", "--silent", f"pyodide@{PYODIDE}", "--pack-destination", cache)
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
    if digest != PYODIDE_INTEGRITY:
        tgz.unlink()
        raise SystemExit(f"pyodide@{PYODIDE}: integrity {digest} is not the pinned {PYODIDE_INTEGRITY}")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tgz) as archive:
        for name in PYODIDE_CORE:
            member = archive.getmember(f"package/{name}")
            source = archive.extractfile(member)
            assert source is not None
            (dest / name).write_bytes(source.read())


def _downloaded(cache: Path) -> list[Path]:
    """The locked pure wheels, hash-checked by pip (an unchanged cache is not fetched again)."""
    target = cache / "wheels"
    target.mkdir(parents=True, exist_ok=True)
    platform = ["--python-version", "3.14", "--platform", "any", "--implementation", "py", "--abi", "none"]
    run(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", *platform,
        "--require-hashes", "-r", WHEELS_LOCK, "-d", target)  # fmt: skip
    return sorted(target.glob("*.whl"))


def _built_pure(cache: Path) -> list[Path]:
    """markupsafe and pyyaml from their locked sdists, with no C compiler, so pure; tagged py3-none-any."""
    target = cache / "pure"
    if not target.exists() or len(list(target.glob("*-py3-none-any.whl"))) < len(_pins(SDISTS_LOCK)):
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        names = ",".join(_pins(SDISTS_LOCK))
        run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-binary", names,
            "--require-hashes", "-r", SDISTS_LOCK, "-w", target, env={**os.environ, "CC": "false"})  # fmt: skip
        for wheel in target.glob("*.whl"):
            if not wheel.name.endswith("-py3-none-any.whl"):
                _require_pure(wheel)
                run(sys.executable, "-m", "wheel", "tags", "--remove", "--python-tag", "py3", "--abi-tag", "none",
                    "--platform-tag", "any", wheel)  # fmt: skip
    return sorted(target.glob("*-py3-none-any.whl"))


def _require_pure(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        native = [n for n in archive.namelist() if n.endswith((".so", ".pyd"))]
    if native:
        raise SystemExit(f"{wheel.name} holds native code ({native[0]}): CC=false did not take")


def _trimmed_botocore(wheel: Path, out: Path) -> Path:
    """botocore with the API models of IAM and STS only (the kit and its sandbox call no other
    service): 17 MB of models for 400 services is most of what a page load unpacks."""
    keep = ("botocore/data/iam/", "botocore/data/sts/")
    trimmed = out / wheel.name
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(trimmed, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            name = info.filename
            service_model = name.startswith("botocore/data/") and name.count("/") > 2
            if service_model and not name.startswith(keep):
                continue
            data = source.read(info)
            if name.endswith(".dist-info/RECORD"):
                lines = data.decode().splitlines()
                data = "\n".join(
                    line
                    for line in lines
                    if not (line.startswith("botocore/data/") and line.count("/") > 2 and not line.startswith(keep))
                ).encode()
            target.writestr(info, data)
    return trimmed


def _pins(lock: Path) -> list[str]:
    return [line.split("==")[0] for line in lock.read_text().splitlines() if "==" in line]


def _wheel_of(files: dict[str, str], name: str, version: str, out: Path) -> Path:
    """A minimal wheel of ``files`` (path -> text)."""
    dist = f"{name}-{version}.dist-info"
    files = {
        **files,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: handson_helpers.lite.build\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = [f"{path},sha256={_b64(text.encode())},{len(text.encode())}" for path, text in files.items()]
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    wheel = out / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in sorted(files.items()):
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            archive.writestr(info, text)
    return wheel


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _kit(out: Path) -> Path:
    """The kit's own wheel, from the work tree."""
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", out, REPO)
    return next(out.glob("handson_iam_mfa-*.whl"))


def _metadata(wheel: Path) -> tuple[str, str, list[Requirement], list[str]]:
    """Name, version, requirements and top-level import names of a wheel."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta_path = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(archive.read(meta_path).decode())
    tops = sorted(
        {
            n.split("/")[0].removesuffix(".py")
            for n in names
            if not n.split("/")[0].endswith((".dist-info", ".data")) and (n.endswith(".py") or "/" in n)
        }
    )
    requires = [Requirement(r) for r in meta.get_all("Requires-Dist") or []]
    return meta["Name"], meta["Version"], requires, tops


def lock(wheels: list[Path], info: dict) -> dict:
    """pyodide-lock.json for ``wheels`` only: each with the dependencies it needs in the browser
    (its requirements whose markers hold there, extras left out) among those wheels."""
    entries = {}
    for wheel in wheels:
        name, version, requires, tops = _metadata(wheel)
        key = canonicalize_name(name)
        entries[key] = {"name": name, "version": version, "file_name": wheel.name, "imports": tops}
        entries[key]["requires"] = requires
    packages = {}
    for key, entry in entries.items():
        depends = {
            canonicalize_name(r.name)
            for r in entry.pop("requires")
            if r.marker is None or r.marker.evaluate({**BROWSER, "extra": ""})
        }
        if key == "handson-iam-mfa":
            depends = (depends - KIT_WITHOUT) | set(KIT_WITH)
        missing = depends - set(entries)
        if missing and key == "handson-iam-mfa":
            raise SystemExit(f"the kit needs {sorted(missing)}, which the site does not hold")
        packages[key] = {
            **entry,
            "depends": sorted(depends & set(entries)),
            "install_dir": "site",
            "package_type": "package",
            "sha256": None,
            "shared_library": False,
            "unvendored_tests": False,
        }
    return {"info": info, "packages": packages}


def build(out: Path, cache: Path) -> None:
    started = time.monotonic()
    cache.mkdir(parents=True, exist_ok=True)
    work = cache / "site-src"
    shutil.rmtree(work, ignore_errors=True)
    pyodide = work / "static" / "pyodide"
    log(f"Pyodide {PYODIDE} from npm")
    _pyodide(cache, pyodide)
    log("wheels from PyPI (locks/lite-wheels.txt), markupsafe and pyyaml built pure, the kit, the stand-in")
    wheels = [*_downloaded(cache), *_built_pure(cache)]
    made = cache / "made"
    shutil.rmtree(made, ignore_errors=True)
    made.mkdir()
    wheels += [_kit(made), _wheel_of(STANDIN, "cryptography", STANDIN_VERSION, made)]
    wheels = [_trimmed_botocore(w, made) if w.name.startswith("botocore-") else w for w in wheels]
    for wheel in wheels:
        shutil.copy2(wheel, pyodide / wheel.name)
    data = lock([pyodide / w.name for w in wheels], _npm_lock_info(cache))
    for entry in data["packages"].values():
        entry["sha256"] = sha256(pyodide / entry["file_name"])
    (pyodide / "pyodide-lock.json").write_text(json.dumps(data, indent=1, sort_keys=True))
    config = {
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            "appName": "IAM MFA hands-on",
            "litePluginSettings": {
                SETTINGS: {"pyodideUrl": "./static/pyodide/pyodide.mjs", "disablePyPIFallback": True}
            },
        },
    }
    (work / "jupyter-lite.json").write_text(json.dumps(config, indent=1))
    (work / "overrides.json").write_text(json.dumps(OVERRIDES, indent=1))
    contents = cache / "contents"
    shutil.rmtree(contents, ignore_errors=True)
    contents.mkdir()
    for notebook in sorted((REPO / "notebooks").glob("*.ipynb")):
        shutil.copy2(notebook, contents / notebook.name)
    log("jupyter lite build")
    shutil.rmtree(out, ignore_errors=True)
    jupyter = Path(sys.executable).parent / "jupyter"
    run(jupyter, "lite", "build", "--lite-dir", work, "--contents", contents, "--output-dir", out,
        "--no-sourcemaps", cwd=work)  # fmt: skip
    _check(out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    log(f"{out}: {size / 1e6:.0f} MB, built in {time.monotonic() - started:.0f} s")


def _npm_lock_info(cache: Path) -> dict:
    """The npm package's own lock's ``info`` (ABI, platform, Python), which the runtime checks."""
    with tarfile.open(cache / f"pyodide-{PYODIDE}.tgz") as archive:
        source = archive.extractfile("package/pyodide-lock.json")
        assert source is not None
        return json.loads(source.read())["info"]


def _check(out: Path) -> None:
    """The site asks no CDN: its kernel settings point at the local Pyodide, with no PyPI fallback;
    and it saves no widget state into a notebook."""
    config = json.loads((out / "jupyter-lite.json").read_text())["jupyter-config-data"]
    settings = config["litePluginSettings"][SETTINGS]
    if not settings["pyodideUrl"].startswith("./") or settings["disablePyPIFallback"] is not True:
        raise SystemExit(f"{out}/jupyter-lite.json: the kernel would leave the site ({settings})")
    if config.get("settingsOverrides", {}).get(WIDGETS, {}).get("saveState") is not False:
        raise SystemExit(
            f"{out}/jupyter-lite.json: widget state would be saved into notebooks (no {WIDGETS} saveState: false)"
        )
    if not (out / "static" / "pyodide" / "pyodide.asm.wasm").exists():
        raise SystemExit(f"{out}: no Pyodide core")


@contextlib.contextmanager
def served(site: Path):
    """The site on a loopback port of its own (``python -m http.server``, as any static server): its URL."""
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "-d", str(site)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        found = re.search(r"port (\d+)", server.stdout.readline())
        assert found, "http.server did not say its port"
        yield f"http://127.0.0.1:{found.group(1)}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests.support.lite_build", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "artifacts" / "lite")
    parser.add_argument("--cache", type=Path, default=REPO / "artifacts" / "lite-cache")
    args = parser.parse_args(argv)
    build(args.out.resolve(), args.cache.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
