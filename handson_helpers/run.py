"""Run the notebooks headless, in order, against a fresh private sandbox.

``python -m handson_helpers.run``           the instructor's rehearsal (make demo): prints each
                                            step and each 完了確認, exits 1 if any fails.
``python -m handson_helpers.run --update``  re-executes and stores the outputs (make notebooks).

Both use a temporary HOME and HANDSON_HOME, so the learner's own sandbox and QR files are
never touched, and the built-in authenticator (HANDSON_AUTO_MFA=1) plays the phone.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .texts import notebook as texts

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
# The HOME stored outputs show: the rehearsal's temporary one would read as the learner's own.
NEUTRAL_HOME = "/home/learner"
FORM_PLACEHOLDER = texts.FORM_PLACEHOLDER


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def _text(output: dict) -> str:
    if output["output_type"] == "stream":
        return output["text"]
    if output["output_type"] == "error":
        return "\n".join(output["traceback"]) or f"{output['ename']}: {output['evalue']}"
    data = output.get("data", {})
    if "application/vnd.jupyter.widget-view+json" in data:
        return texts.FORM_SHOWN
    return data.get("text/plain", "")


@contextmanager
def private_sandbox(prefix: str):
    """A temporary HOME and HANDSON_HOME with the built-in authenticator; the sandbox started
    there is stopped on the way out, and the learner's own sandbox and QR files are never touched."""
    from . import sandbox

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        saved = dict(os.environ)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AWS_") and k not in ("HANDSON_PARTICIPANT", "JUPYTERHUB_USER")
        }
        env.update(
            HOME=tmp, HANDSON_HOME=str(Path(tmp) / ".handson-iam-mfa"), HANDSON_AUTO_MFA="1", HANDSON_TARGET="sandbox"
        )
        os.environ.clear()
        os.environ.update(env)
        try:
            yield Path(tmp)
        finally:
            sandbox.stop()
            os.environ.clear()
            os.environ.update(saved)


def _neutral_home(output: dict, home: str) -> None:
    """Show the rehearsal's temporary HOME as NEUTRAL_HOME in a stored output (nbval's sanitizer maps both)."""
    if "text" in output:
        output["text"] = output["text"].replace(home, NEUTRAL_HOME)
    for kind, value in output.get("data", {}).items():
        if isinstance(value, str):
            output["data"][kind] = value.replace(home, NEUTRAL_HOME)


def run(update: bool) -> int:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    failed = 0
    with private_sandbox("handson-run-") as home:
        for path in notebooks():
            nb = nbformat.read(path, as_version=4)
            print(f"\n=== {path.name}: {nb.cells[0].source.splitlines()[0].lstrip('# ')}", flush=True)
            client = NotebookClient(
                nb,
                timeout=120,
                kernel_name="python3",
                store_widget_state=False,
                record_timing=False,
                resources={"metadata": {"path": str(NOTEBOOKS)}},
            )
            try:
                client.execute()
            except CellExecutionError:
                failed += 1
            for cell in nb.cells:
                if cell.cell_type == "markdown" and cell.source.startswith("## "):
                    print(f"\n--- {cell.source.splitlines()[0][3:]}")
                for output in cell.get("outputs", []):
                    print(_text(output).rstrip())
            if update:
                nb.metadata.pop("widgets", None)
                for cell in nb.cells:
                    cell.metadata.pop("execution", None)
                    if "handson-form" in cell.metadata.get("tags", []):
                        # What a reader of the stored notebook should learn here is what will appear,
                        # not what the built-in authenticator did in the example run.
                        placeholder = cell.metadata.get("handson_placeholder", FORM_PLACEHOLDER)
                        cell.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": placeholder})]
                    for output in cell.get("outputs", []):
                        _neutral_home(output, str(home))
                        # A stored view of a widget whose model is gone shows as an error when the
                        # notebook is opened; its text stands in until the cell runs again.
                        output.get("data", {}).pop("application/vnd.jupyter.widget-view+json", None)
                nbformat.write(nb, path)
    print(
        f"\n{'FAILED' if failed else 'OK'}: {len(notebooks()) - failed} of {len(notebooks())} notebooks"
        " passed every check",
        flush=True,
    )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handson_helpers.run")
    parser.add_argument("--update", action="store_true", help="store the new outputs in the notebooks")
    return run(parser.parse_args(argv).update)


if __name__ == "__main__":
    sys.exit(main())
