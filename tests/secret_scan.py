"""The project's own secret scan, with the same rules as the workplace's shared scanner.

Kept in the project so that `make test` checks secrets on any machine, shared/ or not.
"""

import json
import re
import subprocess
from pathlib import Path

EXAMPLE_KEYS = {"AKIAIOSFODNN7EXAMPLE", "AKIAI44QH8DHBEXAMPLE"}
PATTERNS = {
    "otpauth URI": re.compile(r"otpauth://totp/[^\s\"']*secret=[A-Z2-7]{16,}", re.I),
    "base32 seed": re.compile(r"(?<![A-Za-z0-9+/=])[A-Z2-7]{32,}={0,6}(?![A-Za-z0-9+/=])"),
    "access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "secret access key": re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+]{40}\b"),
    "secret access key (JSON or XML)": re.compile(r"SecretAccessKey(?:\"\s*:\s*\"|>)[A-Za-z0-9/+]{40}\b"),
    "access key pair (--output text)": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\s+[A-Za-z0-9/+]{40}\b"),
    "session token": re.compile(
        r"(?i)(?:aws_session_token|aws_security_token|x-amz-security-token|SessionToken)['\"]?\s*[=:>]\s*['\"]?[A-Za-z0-9/+]{40,}"
    ),
    "session token (AWS's shape)": re.compile(r"(?<![A-Za-z0-9/+])(?:FwoG|FQoG|IQoJ)[A-Za-z0-9/+]{100,}={0,2}"),
}


def scan_text(text: str) -> list[str]:
    found = []
    for name, rx in PATTERNS.items():
        found += [f"{name}: {m.group(0)[:12]}…" for m in rx.finditer(text) if m.group(0) not in EXAMPLE_KEYS]
    return found


def scan_notebook(nb: dict) -> list[str]:
    found = []
    if nb.get("metadata", {}).get("widgets"):
        state = json.dumps(nb["metadata"]["widgets"])
        if "image" in state.lower() or "<svg" in state or re.search(r"[A-Z2-7]{32,}", state):
            found.append("saved widget state holds an image or a seed-like value")
    for i, cell in enumerate(nb.get("cells", [])):
        for out in cell.get("outputs", []):
            if "image/png" in out.get("data", {}):
                found.append(f"cell {i}: a PNG image is stored in an output")
            if "image/svg+xml" in out.get("data", {}) or "<svg" in json.dumps(out.get("data", {})):
                found.append(f"cell {i}: an SVG picture (the browser edition's QR?) is stored in an output")
    return found


def scan_file(path: Path) -> list[str]:
    if path.suffix == ".png":
        return ["a PNG file"]
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return []
    found = scan_text(text)
    if path.suffix == ".ipynb":
        found += scan_notebook(json.loads(text))
    return found


def scan_repo(root: Path) -> list[str]:
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout
    findings = []
    for rel in filter(None, files.decode().split("\0")):
        path = root / rel
        if path.is_file():
            findings += [f"{rel}: {f}" for f in scan_file(path)]
    return findings
