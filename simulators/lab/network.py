"""Hosts made of Linux network namespaces on one machine: each a namespace with its own
address, ports and processes, all joined by a bridge (veth pairs), nothing routed out.

The bridge gets the first address of a /24 in 198.18.0.0/15 (the range set aside for network
benchmarks, RFC 2544), so the machine itself (tests, load generators, receivers) is a host of
the lab too. Needs root (``ip netns``); :func:`lab_unavailable` says why it cannot be made.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["Host", "Network", "lab_unavailable"]

_SUPERNET = "198.18"
_IP = "ip"


def _ip(*arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_IP, *arguments], capture_output=True, text=True, timeout=30, check=check
    )


def lab_unavailable() -> str | None:
    """Why no lab can be made here (not root, no ``ip``), or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which(_IP) is None:
        return "the `ip` command (iproute2) is not installed"
    return None


def _free_subnet() -> str:
    """A /24 of the lab range that no interface of this machine uses yet."""
    used = _ip("-4", "-o", "addr", "show").stdout
    for _ in range(64):
        third = secrets.randbelow(256)
        prefix = f"{_SUPERNET}.{third}."
        if prefix not in used:
            return prefix
    raise RuntimeError("no free /24 in 198.18.0.0/16 for a network lab")


class Host:
    """One namespace of the lab: an address, and processes started inside it."""

    def __init__(self, network: Network, name: str, address: str, namespace: str) -> None:
        self.network = network
        self.name = name
        self.address = address
        self.namespace = namespace
        self.processes: list[subprocess.Popen[bytes]] = []

    def __repr__(self) -> str:
        return f"Host({self.name} {self.address})"

    def command(self, argv: Sequence[str], user: str | None = None) -> list[str]:
        """``argv`` run inside this host (as ``user`` when given)."""
        as_user = ["runuser", "-u", user, "--"] if user else []
        return [_IP, "netns", "exec", self.namespace, *as_user, *argv]

    def start(
        self,
        argv: Sequence[str],
        *,
        log: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a long-running process on this host, its output appended to ``log``."""
        with open(log, "ab") as output:
            process = subprocess.Popen(
                self.command(argv, user),
                env=dict(env) if env is not None else None,
                cwd=cwd,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        user: str | None = None,
        timeout: float = 120,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command on this host to its end."""
        done = subprocess.run(
            self.command(argv, user),
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv[:3])} on {self.name} ended with {done.returncode}: "
                f"{done.stdout[-1500:]}{done.stderr[-1500:]}"
            )
        return done

    def pids(self) -> list[int]:
        """Every process running in this host's namespace."""
        listed = _ip("netns", "pids", self.namespace, check=False).stdout
        return [int(pid) for pid in listed.split()]

    def kill_all(self) -> int:
        """SIGKILL every process of the host, as a crash would; how many there were."""
        pids = self.pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
        self.processes = [process for process in self.processes if process.poll() is None]
        return len(pids)


class Network:
    """A bridge on this machine and the hosts attached to it."""

    def __init__(self) -> None:
        self.tag = secrets.token_hex(2)
        self.prefix = _free_subnet()
        self.address = f"{self.prefix}1"
        self.bridge = f"lt{self.tag}br"
        self.hosts: dict[str, Host] = {}
        _ip("link", "add", self.bridge, "type", "bridge")
        try:
            _ip("addr", "add", f"{self.address}/24", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
        except subprocess.CalledProcessError:
            self.close()
            raise

    def host(self, name: str) -> Host:
        """A new host on the bridge, with the next address."""
        number = len(self.hosts) + 1
        namespace = f"lt{self.tag}-{name}"
        outside, inside = f"lt{self.tag}v{number}", f"lt{self.tag}p{number}"
        address = f"{self.prefix}{10 + number}"
        host = Host(self, name, address, namespace)
        self.hosts[name] = host
        _ip("netns", "add", namespace)
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", namespace)
        _ip("link", "set", outside, "master", self.bridge)
        _ip("link", "set", outside, "up")
        for arguments in (
            ("link", "set", "lo", "up"),
            ("addr", "add", f"{address}/24", "dev", inside),
            ("link", "set", inside, "up"),
        ):
            _ip("netns", "exec", namespace, _IP, *arguments)
        return host

    def close(self) -> None:
        """Kill every host's processes and remove the namespaces, links and bridge."""
        for host in self.hosts.values():
            host.kill_all()
            _ip("netns", "delete", host.namespace, check=False)
        _ip("link", "delete", self.bridge, check=False)
        self.hosts.clear()

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
