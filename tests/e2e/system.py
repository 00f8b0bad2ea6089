"""The whole system for the end-to-end tests: ``lienthong run`` as a child process (relay,
worker and API), a real broker and database, and the simulated agencies of the city.

Set-up is the operator's: ``lienthong db upgrade``, ``lienthong directory import``, ``lienthong
agency token`` for each agency and ``lienthong operator token``. These commands run through
the CLI's own ``main`` in one child interpreter (one start-up instead of a dozen); ``lienthong
run`` and the commands the tests check (``audit``) run as separate processes, all through the
launcher of :mod:`simulators.hubprocess`. Everything the hub writes stays under a temporary
directory; its log is kept there and shown when a wait fails.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from simulators.agencies import Agency, HubClient, InboxPoller, WebhookEndpoint
from simulators.hubprocess import HubProcess, free_port

from .city import MEMBERS, directory_yaml

WAIT_SECONDS = 60.0
"""Upper bound of every wait: generous, since a wait ends as soon as its condition holds."""

HUB_SETTINGS = {
    "LIENTHONG_RETRY_DELAYS": "0.2,0.5",
    "LIENTHONG_RETRY_JITTER": "0",
    "LIENTHONG_RELAY_IDLE_SECONDS": "0.1",
    "LIENTHONG_WORKER_THREADS": "4",
    "LIENTHONG_WEBHOOK_CONNECT_TIMEOUT": "1",
    "LIENTHONG_WEBHOOK_READ_TIMEOUT": "15",
    "LIENTHONG_BREAKER_COOLDOWN": "1",
    "LIENTHONG_BREAKER_MAX_COOLDOWN": "2",
    "LIENTHONG_AMQP_RECONNECT_TIMEOUT": "10",
    "LIENTHONG_LOG_FORMAT": "json",
}
"""Tiny delays and timeouts, so retries and shutdown stay quick."""

OPERATOR = "e2e-operator"

_T = TypeVar("_T")


def eventually(
    probe: Callable[[], _T | None],
    what: str,
    *,
    timeout: float = WAIT_SECONDS,
    context: Callable[[], str] | None = None,
) -> _T:
    """Poll ``probe`` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            detail = f"\n{context()}" if context is not None else ""
            raise AssertionError(f"not reached within {timeout:.0f} s: {what}{detail}")
        time.sleep(0.1)


@dataclass
class System:
    """The running hub and the city's agencies around it."""

    hub: HubProcess
    operator: HubClient
    agencies: dict[str, Agency]
    endpoints: dict[str, WebhookEndpoint]
    tokens: dict[str, str] = field(repr=False)
    _checked_requests: dict[str, int] = field(default_factory=dict, repr=False)

    def agency(self, code: str) -> Agency:
        """The simulated system of agency ``code``."""
        return self.agencies[code]

    def client(self, token: str) -> HubClient:
        """A client of the hub with any token (close it after use)."""
        return HubClient(self.hub.url, token)

    def eventually(self, probe: Callable[[], _T | None], what: str) -> _T:
        """Poll ``probe`` until it returns something truthy; the hub's log on a timeout."""
        return eventually(probe, what, context=self.hub.log_tail)

    def problems(self) -> list[str]:
        """What went wrong since :meth:`forget_problems`: errors the agencies noticed,
        webhook requests whose signature did not verify, the hub no longer running."""
        found = [f"{code}: {error}" for code, a in self.agencies.items() for error in a.errors]
        for code, endpoint in self.endpoints.items():
            fresh = endpoint.requests[self._checked_requests.get(code, 0) :]
            found += [f"{code}: badly signed webhook request" for r in fresh if not r.signed]
        if not self.hub.running:
            found.append(f"lienthong run has ended\n{self.hub.log_tail()}")
        return found

    def forget_problems(self) -> None:
        """Start noticing problems afresh."""
        for agency in self.agencies.values():
            agency.errors.clear()
        for code, endpoint in self.endpoints.items():
            self._checked_requests[code] = len(endpoint.requests)


@contextmanager
def running_system(root: Path, settings: Mapping[str, str]) -> Iterator[System]:
    """Set the city up, start the hub, and stop everything afterwards."""
    hub = HubProcess(
        root,
        {**HUB_SETTINGS, "LIENTHONG_DATA_DIR": str(root / "var"), **settings},
        free_port(),
        log_path=root / "hub.log",
    )
    webhook_ports = {m.code: free_port() for m in MEMBERS if m.channel == "webhook"}
    webhook_secrets = {code: secrets.token_hex(16) for code in webhook_ports}
    directory = root / "directory.yaml"
    directory.write_text(
        directory_yaml(
            {
                code: (f"http://127.0.0.1:{port}{WebhookEndpoint.path}", webhook_secrets[code])
                for code, port in webhook_ports.items()
            }
        ),
        encoding="utf-8",
    )
    outputs = hub.lienthong_batch(
        [
            ["db", "upgrade"],
            ["directory", "import", str(directory)],
            *(["agency", "token", member.code, "--label", "e2e"] for member in MEMBERS),
            ["operator", "token", OPERATOR],
        ]
    )
    tokens = {member.code: outputs[2 + i].strip() for i, member in enumerate(MEMBERS)}
    operator_token = outputs[-1].strip()

    with ExitStack() as stack:
        clients = {code: stack.enter_context(HubClient(hub.url, tokens[code])) for code in tokens}
        operator = stack.enter_context(HubClient(hub.url, operator_token))
        agencies = {
            member.code: Agency(member.code, clients[member.code], member.behaviour)
            for member in MEMBERS
        }
        for agency in agencies.values():
            stack.callback(agency.close)
        endpoints = {
            code: stack.enter_context(
                WebhookEndpoint(agencies[code], [webhook_secrets[code]], port=port)
            )
            for code, port in webhook_ports.items()
        }
        stack.callback(_stopped, hub)
        hub.start(timeout=WAIT_SECONDS)
        for member in MEMBERS:
            if member.channel == "inbox":
                stack.enter_context(InboxPoller(agencies[member.code], interval=0.2))
        yield System(hub, operator, agencies, endpoints, tokens)


def _stopped(hub: HubProcess) -> None:
    code = hub.stop(timeout=WAIT_SECONDS)
    if code != 0:
        raise RuntimeError(f"lienthong run exited {code}\n{hub.log_tail()}")
