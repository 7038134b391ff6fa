"""The sandbox server with fault injection, for the tests only (the learner's package has none).

conftest.py sets HANDSON_SANDBOX_SERVER=tests.sandbox_faults, so every sandbox the tests start, in
any process (pytest, kernels, a terminal), runs this module: the kit's server with one more control
endpoint, ``POST /_handson/faults``, signed like the others. A fault makes the next calls of an
action fail with an AWS error code instead of reaching the emulator, or (DieAfterSave) lets the call
change and save the state and then kills the server before the answer leaves.
"""

from __future__ import annotations

import json
import os
import sys
import threading

from handson_helpers.sandbox import control, query, server

DIE_AFTER_SAVE = "DieAfterSave"


def inject_fault(action: str, code: str, status: int = 400, count: int = 1, message: str | None = None) -> None:
    """Make the next ``count`` calls of ``action`` ("*": any) fail with ``code``."""
    fault = {"action": action, "code": code, "status": status, "count": count, "message": message or code}
    control.request(control.ensure_running(), "/_handson/faults", fault)


def _fault(body: bytes) -> dict:
    """ValueError, KeyError, TypeError or AttributeError for a request that is not a fault."""
    fault = json.loads(body or b"{}")
    return {
        "action": str(fault["action"]),
        "code": str(fault["code"]),
        "status": int(fault.get("status", 400)),
        "message": str(fault.get("message", fault["code"])),
        "count": int(fault.get("count", 1)),
    }


class FaultyApp(server.SandboxApp):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.faults: list[dict] = []
        self.dying = threading.local()  # this thread's request is to kill the server once saved

    def _take_fault(self, action: str) -> dict | None:
        for fault in self.faults:
            if fault["action"] in (action, "*") and fault["count"] > 0:
                fault["count"] -= 1
                return fault
        return None

    def _emulate(self, service: str, action: str, environ) -> tuple[str, list, bytes]:
        fault = self._take_fault(action)
        self.dying.now = fault is not None and fault["code"] == DIE_AFTER_SAVE
        if fault and not self.dying.now:
            return query.error_parts(fault["status"], fault["code"], fault["message"], service)
        return super()._emulate(service, action, environ)

    def _answer(self, start_response, status: str, headers: list, payload: bytes):
        if getattr(self.dying, "now", False):  # a crash after the change was saved, before the answer left
            os._exit(70)
        return super()._answer(start_response, status, headers, payload)

    def _control(self, environ, body: bytes, start_response):
        if (environ["PATH_INFO"], environ["REQUEST_METHOD"]) != ("/_handson/faults", "POST"):
            return super()._control(environ, body, start_response)
        try:
            fault = _fault(body)
        except (ValueError, KeyError, TypeError, AttributeError):
            return server.json_answer(start_response, "400 Bad Request", {"error": "a fault needs action and code"})
        with self.held():
            self.faults.append(fault)
            count = len(self.faults)
        return server.json_answer(start_response, "200 OK", {"faults": count})

    def reset(self) -> None:
        super().reset()
        self.faults.clear()


if __name__ == "__main__":
    sys.exit(server.main(app_class=FaultyApp))
