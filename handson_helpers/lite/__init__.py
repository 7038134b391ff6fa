"""The static browser edition (JupyterLite, issue 27): the kit in Pyodide, the sandbox in the kernel.

``ACTIVE`` is the one test of where the kit runs; the kit's connect() takes the in-kernel sandbox
(sandbox.py) there, and shows the QR as SVG read back from its file (qr.py); build.py makes the static
site (``make lite``) on a developer's machine.
"""

import sys

ACTIVE = sys.platform == "emscripten"
DRIVE = "/drive"  # where pyodide-kernel mounts JupyterLite's contents


def settle() -> None:
    """In the browser: the learner's files (${HOME}/environment/...) and the sandbox's state on the
    kernel's drive, which JupyterLite keeps in the browser's storage across a reload, not in Pyodide's
    memory; the file browser shows them. Without a drive (no service worker), memory it is."""
    import os

    if ACTIVE and os.path.isdir(DRIVE):
        os.environ["HOME"] = DRIVE
        os.environ.setdefault("HANDSON_HOME", f"{DRIVE}/.handson-iam-mfa")
