"""How steps show themselves: the equivalent aws CLI command, its result, and ✔/✘ checks.

Steps report through a Reporter (a Context's ``report``) instead of showing directly, so the
doing and the showing are apart: a Silent reporter keeps the reports instead of showing them.
Each report carries text/plain (for `make demo`, nbval and terminals) and text/html (JupyterLab).
"""

from __future__ import annotations

import html
import unicodedata

from .texts import display as texts

STYLES = {
    "info": ("#e8f1fb", "#1f5fa8", "ℹ"),
    "success": ("#e9f7ef", "#1e7d45", "✔"),
    "warning": ("#fff6e0", "#8a5a00", "⚠"),
    "error": ("#fdecea", "#a61b1b", "✘"),
}


def visible(text: str) -> str:
    """Text with what a reader cannot see written as ``\\uXXXX``: control, format and unassigned
    characters and every separator but the ASCII space (a line separator or a no-break space in a
    participant's tag must not pass for another participant's row)."""
    return "".join(
        f"\\u{ord(c):04x}"
        if unicodedata.category(c)[0] == "C" or (unicodedata.category(c)[0] == "Z" and c != " ")
        else c
        for c in text
    )


class Report:
    def __init__(self, text: str, html_text: str, shell: str | None = None, refused: bool = False):
        self.text = text
        self.html = html_text
        self.shell = shell  # a command's shell text, for tests that paste it
        self.refused = refused

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.text, "text/html": self.html}

    def __repr__(self) -> str:
        return self.text


def _pre(text: str) -> str:
    return f'<pre style="margin:2px 0 6px 0;padding:6px;background:#f6f8fa;border-radius:4px">{html.escape(text)}</pre>'


def _box(background: str, color: str) -> str:
    """The style of a message or a verdict: a coloured box."""
    return f"background:{background};color:{color};padding:6px 10px;border-radius:4px;margin:4px 0"


class Reporter:
    """What a step shows goes through here, so a caller can choose where it goes (see Silent)."""

    def emit(self, report: Report) -> None:
        """Display in a notebook, print elsewhere (make demo, terminals)."""
        try:
            from IPython import get_ipython

            shell = get_ipython()
        except ImportError:
            shell = None
        if shell is not None:
            from IPython.display import display

            display(report)
        else:
            print(report.text, flush=True)

    def command(self, cli: str, result: str | None = None, label: str = texts.COMMAND, refused: bool = False) -> None:
        """Show 'コマンド:' with the equivalent shell text and '結果:' with what it printed.

        ``cli`` is the hands-on's own `${VAR}` form (see shell.py), safe to paste into bash.
        ``refused``: the command is shown to fail on purpose (AWS refuses it; tests expect that).
        """
        result_text = texts.NO_OUTPUT if result == "" else (result or "")
        text = f"{label}:\n{cli}"
        markup = f"<div><b>{html.escape(label)}:</b>{_pre(cli)}"
        if result is not None:
            text += f"\n{texts.RESULT}:\n{result_text}"
            markup += f"<b>{texts.RESULT}:</b>{_pre(result_text)}"
        self.emit(Report(text, markup + "</div>", cli, refused))

    def message(self, kind: str, text: str) -> None:
        """A one-paragraph note: info, success, warning or error."""
        background, color, mark = STYLES[kind]
        self.emit(
            Report(
                f"{mark} {text}",
                f'<div style="{_box(background, color)}">{mark} {html.escape(text)}</div>',
            )
        )

    def table(self, title: str, header: list[str], rows: list[list[str]]) -> None:
        rows = [[visible(str(c)) for c in row] for row in rows]
        widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
        lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths))]
        lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
        head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
        self.emit(Report("\n".join(lines), f"<b>{html.escape(title)}</b><table><tr>{head}</tr>{body}</table>"))

    def check(self, statement: str, expected: str, actual: str, ok: bool) -> bool:
        """The 完了確認 verdict: ✔ or ✘ with the expected and the actual value. Returns ok."""
        mark = "✔" if ok else "✘"
        text = texts.CHECK.format(mark=mark, statement=statement, expected=expected, actual=actual)
        kind = "success" if ok else "error"
        background, color, _ = STYLES[kind]
        markup = (
            f'<div style="{_box(background, color)}">'
            + texts.CHECK_HTML.format(
                mark=mark, statement=html.escape(statement), expected=html.escape(expected), actual=html.escape(actual)
            )
            + "</div>"
        )
        self.emit(Report(text, markup))
        return ok


class Silent(Reporter):
    """Shows nothing and keeps the reports, so a caller can read what a step would have shown."""

    def __init__(self) -> None:
        self.reports: list[Report] = []

    def emit(self, report: Report) -> None:
        self.reports.append(report)


# For what runs without a Context: 設定値の確認, 01's environment check, the 変数の確認 blocks of 22 and 40.
SHOW = Reporter()
