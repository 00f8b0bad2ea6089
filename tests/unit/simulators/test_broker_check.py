"""The demo's broker check: use the broker that answers, else start one, else install one
only with consent, else stop with a message that says what to do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from simulators.broker import BrokerUnavailableError, Consent, ensure_broker, install_consent

LOCAL = "amqp://guest:guest@127.0.0.1:5672/%2F"
REMOTE = "amqp://guest:guest@broker.example:5672/%2F"


class Machine:
    """What ensure_broker sees of the machine: a broker that answers after some commands."""

    def __init__(self, answers_after: set[str] | None = None) -> None:
        self.answers_after = answers_after
        self.commands: list[list[str]] = []

    def probe(self, url: str) -> str | None:
        if self.answers_after is None:
            return "ConnectionRefusedError: refused"
        ran = {" ".join(command) for command in self.commands}
        return None if self.answers_after <= ran else "ConnectionRefusedError: refused"

    def run(self, argv: list[str], say: Callable[[str], None]) -> None:
        self.commands.append(argv)


def check(machine: Machine, url: str = LOCAL, **options: Any) -> Any:
    said: list[str] = []
    defaults: dict[str, Any] = {
        "environ": {},
        "say": said.append,
        "interactive": False,
        "is_root": True,
        "probe": machine.probe,
        "run": machine.run,
        "server": None,
        "apt_get": "/usr/bin/apt-get",
        "start_seconds": 0,
        "sleep": lambda seconds: None,
    }
    return ensure_broker(url, **{**defaults, **options})


def test_a_broker_that_answers_is_used_as_it_is() -> None:
    machine = Machine(answers_after=set())

    outcome = check(machine)

    assert outcome.how == "answering"
    assert machine.commands == []


def test_an_installed_server_is_started_detached() -> None:
    server = Path("/usr/sbin/rabbitmq-server")
    machine = Machine(answers_after={f"{server} -detached"})

    outcome = check(machine, server=server)

    assert outcome.how == "started"
    assert machine.commands == [[str(server), "-detached"]]


def test_a_remote_broker_that_does_not_answer_is_not_started_here() -> None:
    with pytest.raises(BrokerUnavailableError, match=r"broker\.example:5672.*start it there"):
        check(Machine(), REMOTE, server=Path("/usr/sbin/rabbitmq-server"))


def test_without_consent_nothing_is_installed_and_the_message_says_how() -> None:
    machine = Machine()

    with pytest.raises(BrokerUnavailableError) as caught:
        check(machine)

    assert machine.commands == []
    assert "apt-get install rabbitmq-server" in str(caught.value)
    assert "LIENTHONG_DEMO_INSTALL=1 make demo" in str(caught.value)


def test_with_consent_rabbitmq_is_installed_with_apt_get() -> None:
    machine = Machine(
        answers_after={"/usr/bin/apt-get install -y --no-install-recommends rabbitmq-server"}
    )

    outcome = check(machine, environ={"LIENTHONG_DEMO_INSTALL": "1"})

    assert outcome.how == "installed"
    assert machine.commands == [
        ["/usr/bin/apt-get", "update"],
        ["/usr/bin/apt-get", "install", "-y", "--no-install-recommends", "rabbitmq-server"],
    ]


def test_on_a_terminal_the_demo_asks_before_installing() -> None:
    asked: list[str] = []
    machine = Machine()

    with pytest.raises(BrokerUnavailableError):
        check(machine, interactive=True, ask=lambda q: asked.append(q) or "n")

    assert len(asked) == 1
    assert "Install Debian's rabbitmq-server" in asked[0]
    assert machine.commands == []


def test_installing_needs_root() -> None:
    with pytest.raises(BrokerUnavailableError, match="installing needs root"):
        check(Machine(), is_root=False, environ={"LIENTHONG_DEMO_INSTALL": "1"})


def test_without_apt_get_the_message_says_so() -> None:
    with pytest.raises(BrokerUnavailableError, match="apt-get is not available"):
        check(Machine(), apt_get=None)


@pytest.mark.parametrize(
    ("value", "interactive", "consent"),
    [
        ("1", False, Consent.YES),
        ("yes", True, Consent.YES),
        ("0", True, Consent.NO),
        ("", True, Consent.ASK),
        ("", False, Consent.NO),
    ],
)
def test_consent_comes_from_the_variable_or_a_question(
    value: str, interactive: bool, consent: Consent
) -> None:
    environ = {"LIENTHONG_DEMO_INSTALL": value} if value else {}

    assert install_consent(environ, interactive=interactive) is consent
