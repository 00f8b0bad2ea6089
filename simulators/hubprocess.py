"""Launch hub processes and the simulators beside them, wait until they serve, stop them cleanly.

One launcher for everything that starts ``lienthong`` as real processes (the demo, the scenario
runner, the end-to-end tests): :class:`HubProcess` runs one ``lienthong`` command (``run`` by
default; ``serve``, ``worker``, ``relay``, ``axis poll`` as well) with its own environment and
log file, and runs the set-up commands (``db upgrade``, ``directory import``, tokens) either
as separate processes (:meth:`HubProcess.lienthong`) or all in one interpreter
(:meth:`HubProcess.lienthong_batch`). :class:`ManagedProcess` is the same life cycle for any
other command (the simulated axis node).

Life cycle: :meth:`~ManagedProcess.start` starts the process with its output appended to its
log and waits until its readiness probe holds (``GET /readyz`` answering 200 for commands that
serve the API), failing at once with the log's end when the process ends meanwhile;
:meth:`~ManagedProcess.stop` sends SIGTERM and waits (``lienthong run`` forwards it to its
children and waits for the attempts in flight); past the grace period the process and the
children it started are killed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx

__all__ = [
    "HubProcess",
    "HubProcessError",
    "ManagedProcess",
    "free_port",
    "http_ready",
    "hub_environment",
    "lienthong_argv",
    "simulator_argv",
]

START_SECONDS = 60.0
"""Default wait for a process to become ready."""
STOP_SECONDS = 60.0
"""Default grace period of a stop before the process and its children are killed."""

_CLI_BATCH = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from hub.cli import main
    results = []
    for argv in json.loads(sys.stdin.read()):
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            code = main(argv)
        results.append({"argv": argv, "exit": code, "stdout": captured.getvalue()})
        if code != 0:
            break
    print(json.dumps(results))
    """
)
"""Runs ``lienthong`` commands one after the other through the CLI's own ``main``."""

_SERVING_COMMANDS = frozenset({"run", "serve"})


class HubProcessError(RuntimeError):
    """Raised when a process cannot start, does not become ready, or a set-up command fails."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _script(name: str, module: str) -> list[str]:
    script = Path(sys.executable).with_name(name)
    return [str(script)] if script.exists() else [sys.executable, "-m", module]


def lienthong_argv() -> list[str]:
    """The ``lienthong`` command of this installation (beside the interpreter, else ``-m``)."""
    return _script("lienthong", "hub.cli")


def simulator_argv() -> list[str]:
    """The ``lienthong-sim`` command of this installation."""
    return _script("lienthong-sim", "simulators.cli")


def hub_environment(
    settings: Mapping[str, str], *, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``base`` (default: this process's environment) without its ``LIENTHONG_*`` variables,
    plus ``settings``: a child sees exactly the hub settings it is given."""
    inherited = os.environ if base is None else base
    kept = {k: v for k, v in inherited.items() if not k.upper().startswith("LIENTHONG_")}
    return {**kept, **settings}


def http_ready(url: str, *, timeout: float = 2.0) -> Callable[[], bool]:
    """A readiness probe: ``GET url`` answers 200."""

    def probe() -> bool:
        try:
            return httpx.get(url, timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    return probe


class ManagedProcess:
    """A child process with its own environment and log file, a readiness probe, a clean stop."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        root: Path,
        environment: Mapping[str, str],
        log_path: Path,
        ready: Callable[[], bool] | None = None,
        name: str | None = None,
    ) -> None:
        self.argv = list(argv)
        self.root = root
        self.environment = dict(environment)
        self.log_path = log_path
        self.ready = ready
        self.name = name or Path(self.argv[0]).name
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_start = 0
        """Size of the log when this process started: what it wrote comes after."""

    # -- life cycle -------------------------------------------------------------------------

    def start(self, *, timeout: float = START_SECONDS, wait: bool = True) -> Self:
        """Start the process and wait until its readiness probe holds (``wait=False``: do
        not wait; call :meth:`wait_ready` later).

        Raises:
            HubProcessError: the process ended, or was not ready within ``timeout`` seconds
                (it is stopped then); the message holds the end of its log.
        """
        if self.running:
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed by stop()
        self._log_start = self._log.tell()
        self._process = subprocess.Popen(
            self.argv,
            env=self.environment,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        if not wait:
            return self
        try:
            self.wait_ready(timeout=timeout)
        except BaseException:
            with suppress(Exception):
                self.stop(timeout=10)
            raise
        return self

    def wait_ready(self, *, timeout: float = START_SECONDS) -> None:
        """Wait until the readiness probe holds (at once when there is none).

        Raises:
            HubProcessError: the process ended or stayed unready for ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            if not self.running:
                raise HubProcessError(
                    f"{self.name} ended at start-up with exit code {self.returncode}\n"
                    f"{self.log_tail()}"
                )
            if self.ready is None or self.ready():
                return
            if time.monotonic() > deadline:
                raise HubProcessError(
                    f"{self.name} was not ready within {timeout:.0f} s\n{self.log_tail()}"
                )
            time.sleep(0.1)

    @property
    def running(self) -> bool:
        """Whether the process is up."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id, once started."""
        return self._process.pid if self._process is not None else None

    @property
    def returncode(self) -> int | None:
        """The exit code once ended, else None."""
        return self._process.poll() if self._process is not None else None

    def stop(self, *, timeout: float = STOP_SECONDS) -> int:
        """SIGTERM, then wait up to ``timeout`` seconds; the exit code.

        Raises:
            subprocess.TimeoutExpired: it did not stop in time; it and its children were
                killed.
        """
        process = self._process
        if process is None:
            return 0
        try:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                return process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise
        finally:
            self._close_log()

    def kill(self) -> None:
        """SIGKILL the process and the children it started (a crash, for fault tests)."""
        process = self._process
        if process is None:
            return
        for pid in self.children():
            _kill(pid)
        if process.poll() is None:
            process.kill()
        process.wait()
        self._close_log()

    def children(self) -> list[int]:
        """Ids of the processes this one started and that are still its children."""
        if self.pid is None:
            return []
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        with suppress(OSError, ValueError):
            return [int(part) for part in path.read_text().split()]
        return []

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- diagnostics ------------------------------------------------------------------------

    def log_text(self) -> str:
        """What the process wrote to its log since it started."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_start)
                return log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        """The end of the process's log."""
        if not self.log_path.exists():
            return f"(no log of {self.name})"
        tail = self.log_text().splitlines()[-lines:]
        return f"{self.name} log (end, {self.log_path}):\n" + "\n".join(tail)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


class HubProcess(ManagedProcess):
    """One ``lienthong`` command as a process (``run`` by default), and the set-up commands.

    ``settings`` are the ``LIENTHONG_*`` variables of the hub; inherited ``LIENTHONG_*``
    variables are dropped so that nothing of the caller's environment leaks in. ``port`` sets
    ``LIENTHONG_PORT`` (and ``--port`` of ``run``). Commands that serve the API are ready
    when ``/readyz`` answers 200; pass ``ready`` for the others (e.g. a consumer count).
    """

    def __init__(
        self,
        root: Path,
        settings: Mapping[str, str],
        port: int | None = None,
        *,
        command: Sequence[str] = ("run",),
        name: str = "hub",
        log_path: Path | None = None,
        ready: Callable[[], bool] | None = None,
        host: str = "127.0.0.1",
        base_environment: Mapping[str, str] | None = None,
    ) -> None:
        values = dict(settings)
        if port is not None:
            values["LIENTHONG_PORT"] = str(port)
        self.port = port if port is not None else int(values.get("LIENTHONG_PORT", "8080"))
        self.host = host
        arguments = list(command)
        if arguments[:1] == ["run"] and port is not None:
            arguments += ["--port", str(port)]
        if ready is None and arguments[:1] and arguments[0] in _SERVING_COMMANDS:
            ready = http_ready(f"http://{host}:{self.port}/readyz")
        super().__init__(
            [*lienthong_argv(), *arguments],
            root=root,
            environment=hub_environment(values, base=base_environment),
            log_path=log_path or root / f"{name}.log",
            ready=ready,
            name=f"lienthong {' '.join(arguments)}".strip(),
        )

    @property
    def url(self) -> str:
        """Base URL of the API."""
        return f"http://{self.host}:{self.port}"

    def lienthong(
        self, *args: str, timeout: float = START_SECONDS, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run one ``lienthong`` command as its own process, with this hub's environment
        (``stdin``: text for its standard input)."""
        return subprocess.run(
            [*lienthong_argv(), *args],
            env=self.environment,
            cwd=self.root,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def lienthong_batch(
        self, commands: Sequence[Sequence[str]], *, timeout: float = 3 * START_SECONDS
    ) -> list[str]:
        """Run ``lienthong`` commands one after the other in one interpreter (one start-up
        instead of one per command); their standard outputs.

        Raises:
            HubProcessError: a command failed (the rest were not run); the message names it.
        """
        finished = subprocess.run(
            [sys.executable, "-c", _CLI_BATCH],
            input=json.dumps([list(command) for command in commands]),
            env=self.environment,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        results = json.loads(finished.stdout) if finished.returncode == 0 else []
        if len(results) != len(commands) or any(item["exit"] != 0 for item in results):
            failed = next((item for item in results if item["exit"] != 0), None)
            what = (
                f"`lienthong {' '.join(failed['argv'])}` exited {failed['exit']}" if failed else ""
            )
            raise HubProcessError(
                f"lienthong set-up failed {what}\n{finished.stderr[-3000:]}".rstrip()
            )
        return [str(item["stdout"]) for item in results]

    def children(self) -> list[int]:
        """The children ``lienthong run`` started (from its ``run.started`` log line, which
        names them even after they were re-parented), else those /proc lists."""
        for line in self.log_text().splitlines():
            if '"run.started"' in line:
                with suppress(ValueError, AttributeError):
                    named = json.loads(line).get("children", {})
                    return [int(pid) for pid in named.values()]
        return super().children()


def _kill(pid: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)
