"""Fork servers for the tests' many short Python processes: the aws CLI and the restart sweep's kernels.

On two cores `make test` spent most of its time importing the same modules again: each `aws`
command imports awscli and its botocore (~0.3 s of its ~0.45 s), each kernel IPython, zmq and
boto3. A server per kind imports them once (nothing of ipykernel or the kit: their classes read the
environment when they are defined); a tiny client (`python -SE zygote_client.py SOCKET aws|kernel ARGS`,
standing where the real program stands) hands it its argv, environment, working folder and standard
streams, and the server forks a child that runs the real program's own entry point (awscli's
``main``, ipykernel's ``launch_new_instance``) with them. The child is a new process that has run
nothing; it imports ipykernel and the kit (handson_helpers) itself, as after a real kernel restart.

The client stands in for the child: signals it receives are passed on, its exit status is the
child's, and if it is killed the child is killed too. Tests compare both kinds with the real ones
(test_sandbox_control: the same output, errors and endings as `aws`; test_e2e_notebooks: the same path,
arguments, environment and libraries as a kernel Jupyter starts). What stays the server's: the
hash seed of str (every forked kernel iterates a set of strings in the same order) and what the
preloaded modules read from the environment other than through os.environ's keys (os.getenv too).

Linux only (SOCK_SEQPACKET, pidfd, fd passing). ``HANDSON_TEST_FORK=0`` (``make test-nofork``, run once
in CI) gives the tests RealProcesses instead: the same `aws` and kernels, started as real processes.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

from zygote_client import CLIENT, FORWARDED

# What importing the programs read from the environment (debugpy its PYDEVD_* switches), and what it
# wrote there (awscli adds its data folder to AWS_DATA_PATH): a child starts from its client's
# environment, which must hold the values read, with the writes applied again.
_import_reads: dict[str, str | None] = {}
_import_writes: dict[str, str] = {}


# What each kind of program imports before it does anything. One server per kind: awscli puts its own
# copy of botocore in sys.modules, which a kernel's boto3 must not get.
PRELOAD = {
    "aws": ["awscli.clidriver", "awscli.handlers"],  # handlers: the plugins every command loads
    "kernel": [
        "boto3",
        "debugpy.server.api",
        "IPython",
        "ipywidgets",
        "jupyter_client.session",
        "pyotp",
        "qrcode",
        "PIL.Image",
        "tornado.ioloop",
        "zmq",
    ],
}


@contextlib.contextmanager
def _recorded_environ():
    """Note every key the imports read from os.environ (get, in, os.getenv all go through
    __getitem__) with the value it had, and every key they set; the object itself stays os.environ."""
    environ = type(os.environ)
    read, write = environ.__getitem__, environ.__setitem__

    def getitem(self, key):
        try:
            value = read(self, key)
        except KeyError:
            value = None
            raise
        finally:  # a value the imports set themselves is not the client's to match
            if isinstance(key, str) and key not in _import_writes:
                _import_reads.setdefault(key, value)
        return value

    def setitem(self, key, value):
        _import_writes[key] = value
        write(self, key, value)

    environ.__getitem__, environ.__setitem__ = getitem, setitem
    try:
        yield
    finally:
        environ.__getitem__, environ.__setitem__ = read, write


def serve(kind: str, path: str) -> None:
    """Import what ``kind`` needs once, then fork a watcher per request."""
    with _recorded_environ():
        for module in PRELOAD[kind]:
            importlib.import_module(module)
    # ipykernel's classes read JPY_PARENT_PID and the like when they are defined: the child imports them
    assert not [name for name in sys.modules if name.startswith(("ipykernel", "handson_helpers"))]
    assert kind == "aws" or "awscli" not in sys.modules["botocore"].__file__
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the watchers reap themselves
    print("ready", flush=True)
    while True:
        ready, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in ready:  # the test process is gone (or done): so is this server and what it runs
            os.killpg(0, signal.SIGKILL)
        conn, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _watch(conn)
        conn.close()


def _watch(conn: socket.socket) -> None:
    """Fork the program, pass the client's signals to it, and send back how it ended."""
    message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    request = json.loads(message)
    pid = os.fork()
    if pid == 0:
        conn.close()
        _run(request, fds)
    for fd in fds:
        os.close(fd)
    child = os.pidfd_open(pid)
    while True:
        ready, _, _ = select.select([conn, child], [], [])
        if child in ready:
            _, status = os.waitpid(pid, 0)
            conn.send(struct.pack("!i", os.waitstatus_to_exitcode(status)))
            os._exit(0)
        data = conn.recv(16)
        if not data:  # the client was killed
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os._exit(0)
        for signum in data:
            os.kill(pid, signum)


def _run(request: dict, fds: list[int]) -> None:
    for number, fd in enumerate(fds):
        os.dup2(fd, number)
        os.close(fd)
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    env = request["env"]
    differ = sorted(key for key, value in _import_reads.items() if env.get(key) != value)
    if differ:  # the preloaded modules would not be what a fresh start makes of this environment
        print(
            f"zygote: {', '.join(differ)} differ from the environment the {request['kind']} server imported in",
            file=sys.stderr,
        )
        os._exit(70)
    env.update(_import_writes)
    os.environ.clear()
    os.environ.update(env)
    for signum in FORWARDED:
        signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)
    code: object = 0
    try:
        if request["kind"] == "aws":  # as the `aws` script: its folder first on sys.path
            from awscli.clidriver import main

            sys.argv = request["argv"]
            sys.path[0] = os.path.dirname(sys.executable)
            code = main()
        else:  # as `python -m ipykernel_launcher`
            from ipykernel import kernelapp

            sys.argv = [importlib.util.find_spec("ipykernel_launcher").origin, *request["argv"][1:]]
            del sys.path[0]  # as ipykernel_launcher drops the '' that -m puts there
            kernelapp.launch_new_instance()
    except SystemExit as exited:
        code = exited.code
        if isinstance(code, str):
            print(code, file=sys.stderr)
    except KeyboardInterrupt:
        code = 130
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


class Server:
    """This test process's fork servers, an `aws` that runs through one and a kernel spec that uses the other."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.processes = {}
        for kind in PRELOAD:
            with open(folder / f"{kind}.log", "wb") as log:  # what the imports print (debugpy warns of frozen modules)
                process = subprocess.Popen(
                    [sys.executable, __file__, kind, self.socket(kind)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    start_new_session=True,
                )
            self.processes[kind] = process
            ready = process.stdout.readline() if process.stdout else b""
            assert ready == b"ready\n", (
                f"the tests' {kind} fork server did not start: {(folder / f'{kind}.log').read_text()}"
            )
        self.bin = folder / "bin"
        self.bin.mkdir()
        aws = self.bin / "aws"
        aws.write_text(
            f"#!{sys.executable} -SE\nimport sys\nsys.path.insert(0, {os.path.dirname(CLIENT)!r})\n"
            "from zygote_client import client\n"
            f"client({self.socket('aws')!r}, 'aws', sys.argv[1:])\n"
        )
        aws.chmod(0o755)

    def socket(self, kind: str) -> str:
        return str(self.folder / f"{kind}.sock")

    @functools.cached_property
    def kernel_manager_class(self):
        """For nbclient: a kernel manager (over IPC, as the tests' others) whose python3 kernel is forked here."""
        from helpers import AsyncIPCKernelManager
        from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

        spec = KernelSpec(
            argv=[sys.executable, "-SE", CLIENT, self.socket("kernel"), "kernel", "-f", "{connection_file}"],
            display_name="Python 3",
            language="python",
            name="python3",
        )

        class Specs(KernelSpecManager):
            def get_kernel_spec(self, kernel_name, *args, **kwargs):
                return spec

        class Forked(AsyncIPCKernelManager):
            def __init__(self, **kwargs):
                super().__init__(kernel_spec_manager=Specs(), **kwargs)

        return Forked

    def stop(self) -> None:
        """End the servers and whatever they still run (a server also ends when this process dies)."""
        for process in self.processes.values():
            if process.stdin:
                process.stdin.close()
            process.wait(10)


class RealProcesses:
    """What Server offers, with no fork server behind it (HANDSON_TEST_FORK=0, make test-nofork): the
    `aws` in ``bin`` is the real command and kernels start as Jupyter starts them. The same tests run on
    real processes, so that a failure seen only with the fork server is told apart as the harness's."""

    processes: dict[str, subprocess.Popen] = {}  # no server, so no forked children

    def __init__(self, folder: Path, aws: str | None):
        if not aws:
            raise AssertionError("the aws command is missing from this environment (make dev installs awscli)")
        self.bin = folder / "bin"
        self.bin.mkdir()
        (self.bin / "aws").symlink_to(aws)

    @property
    def kernel_manager_class(self):
        from helpers import AsyncIPCKernelManager

        return AsyncIPCKernelManager

    def stop(self) -> None:
        pass


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
