"""The running system a scenario plays against, and how the simulators set one up.

A deployment file (YAML, written by ``lienthong-sim setup`` and by the demo) says where the
hub's API is, the operator token that reads every timeline, each agency's API token, the
directory file the hub imported (its webhook URLs and secrets say where the simulated
agencies listen), and the simulated axis with its systems file (a ministry's system id and
secret)::

    hub_url: http://127.0.0.1:8080
    operator_token: ...
    directory: directory.yaml          # relative to this file
    webhook_bind: 127.0.0.1            # where the agencies' webhook servers listen
    tokens: {000.00.00.H26: ..., ...}
    axis: {url: http://127.0.0.1:8090, systems: axis-systems.yaml, hub_system: hanoi.hub}
    console: {user: lienthong-sim, password: ...}   # a viewer of the console, for checks

It holds secrets: keep it out of version control (the demo writes it under ``.demo/``).

:func:`simulated_directory` rewrites a directory so that each webhook agency has a port and a
secret of its own (one port per agency, so that one agency that is down opens only its own
circuit breaker at the hub); :func:`axis_systems` writes the simulated axis's systems file
(the hub's system serving the city's codes, one system per ministry on channel ``axis``);
:func:`set_up` runs the operator's set-up commands and writes the deployment file.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from hub.directory import DirectoryData, dump_yaml, read_directory_file, sample_directory
from simulators.axis.systems import SystemsFileError, systems_from
from simulators.hubprocess import HubProcess, HubProcessError

__all__ = [
    "AxisLink",
    "ConsoleAccount",
    "Deployment",
    "DeploymentError",
    "MinistryAccount",
    "axis_systems",
    "issue_tokens",
    "load_deployment",
    "ports_from",
    "read_directory",
    "set_up",
    "simulated_directory",
]

OPERATOR = "simulator"
"""The operator name of the simulators' token (it appears in the audit log)."""


class DeploymentError(ValueError):
    """Raised when a deployment file is missing, unreadable or incomplete."""


class AxisLink(BaseModel):
    """The simulated axis node and the systems connected to it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    systems: Path
    """The node's systems file (relative to the deployment file)."""
    hub_system: str
    """The hub's system id there: its other systems are the ministries."""


class ConsoleAccount(BaseModel):
    """A viewer of the hub's console: scenarios read the console's figures with it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: str
    password: str = Field(repr=False)


class MinistryAccount(BaseModel):
    """A ministry's system at the axis."""

    model_config = ConfigDict(frozen=True)

    code: str
    system_id: str
    secret: str = Field(repr=False)


class Deployment(BaseModel):
    """A running hub, its tokens and directory, and the simulated axis (if any)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hub_url: str
    operator_token: str = Field(repr=False)
    directory: Path
    tokens: dict[str, str] = Field(default_factory=dict, repr=False)
    webhook_bind: str = "127.0.0.1"
    axis: AxisLink | None = None
    console: ConsoleAccount | None = None
    base: Path = Field(default=Path("."), exclude=True)
    """The folder relative paths are read from."""

    def path(self, relative: Path) -> Path:
        """A path of the file, resolved from the deployment file's folder."""
        return relative if relative.is_absolute() else self.base / relative

    def directory_data(self) -> DirectoryData:
        """The directory the hub imported."""
        return read_directory(self.path(self.directory))

    def ministries(self, environ: Mapping[str, str] | None = None) -> dict[str, MinistryAccount]:
        """Each ministry's account at the axis, by agency code (none without an axis). The
        hub's own system is left out, so its secret is not needed here."""
        if self.axis is None:
            return {}
        path = self.path(self.axis.systems)
        try:
            data = yaml.safe_load(path.read_text("utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise DeploymentError(f"cannot read the axis systems file {path}: {exc}") from exc
        listed = data.get("systems") if isinstance(data, dict) else None
        if isinstance(listed, dict):
            listed = {key: value for key, value in listed.items() if key != self.axis.hub_system}
        elif isinstance(listed, list):
            listed = [
                item
                for item in listed
                if not (isinstance(item, dict) and item.get("id") == self.axis.hub_system)
            ]
        try:
            systems = systems_from({"systems": listed}, environ=environ)
        except SystemsFileError as exc:
            raise DeploymentError(f"{path}: {exc}") from exc
        accounts = {}
        for system in systems:
            for agency in system.agencies:
                if not agency.is_pattern:
                    accounts[agency.code] = MinistryAccount(
                        code=agency.code, system_id=system.id, secret=system.secret
                    )
        return accounts

    def save(self, path: Path) -> None:
        """Write the deployment file (paths as given, relative to its folder)."""
        data = self.model_dump(mode="json", exclude_none=True)
        path.write_text(
            "# Written by lienthong-sim: holds API tokens. Keep it out of version control.\n"
            + yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
            encoding="utf-8",
        )


def load_deployment(path: Path) -> Deployment:
    """A deployment file.

    Raises:
        DeploymentError: it cannot be read or misses what a scenario needs.
    """
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except OSError as exc:
        raise DeploymentError(
            f"cannot read the deployment file {path}: {exc.strerror} (write one with "
            "`lienthong-sim setup`, or run `lienthong-sim demo`)"
        ) from exc
    except yaml.YAMLError as exc:
        raise DeploymentError(f"{path} is not YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise DeploymentError(f"{path}: a deployment file is a mapping (hub_url, tokens, …)")
    try:
        return Deployment.model_validate({**data, "base": path.parent})
    except ValueError as exc:
        raise DeploymentError(f"{path}: {exc}") from exc


def read_directory(reference: str | Path) -> DirectoryData:
    """A directory file by path, or a shipped sample by name (``hanoi``)."""
    path = Path(reference)
    if not path.exists() and "/" not in str(reference) and not path.suffix:
        path = sample_directory(str(reference))
    return read_directory_file(path).data()


def simulated_directory(
    data: DirectoryData,
    *,
    webhook_host: str,
    port_of: Callable[[str], int],
    secret_of: Callable[[str], str] | None = None,
    path: str = "/edxml",
) -> DirectoryData:
    """``data`` with every webhook agency at ``http://webhook_host:port/edxml`` with a port
    and a signing secret of its own."""
    make_secret = secret_of or (lambda code: secrets.token_hex(16))
    agencies = []
    for entry in data.agencies:
        if entry.channel.value == "webhook":
            settings = {
                **entry.settings,
                "url": f"http://{webhook_host}:{port_of(entry.code)}{path}",
                "secret": make_secret(entry.code),
            }
            entry = entry.model_copy(update={"settings": settings})
        agencies.append(entry)
    return replace(data, agencies=tuple(agencies))


def axis_systems(
    data: DirectoryData,
    *,
    hub_system: str,
    city_root: str,
    hub_secret_env: str | None = None,
    hub_secret: str | None = None,
    secret_of: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """The simulated axis's systems file: the hub's system (the city's root agency and every
    code of its province) and one system per agency on channel ``axis``, each with a secret
    of its own (the hub's given by ``hub_secret`` or read from ``hub_secret_env``)."""
    if (hub_secret is None) == (hub_secret_env is None):
        raise ValueError("give the hub's secret or the variable that holds it, not both")
    make_secret = secret_of or (lambda code: secrets.token_urlsafe(24))
    names = {entry.code: entry.name for entry in data.agencies}
    province = city_root.rsplit(".", 1)[-1]
    hub: dict[str, Any] = {
        "agencies": [{"code": city_root, "name": names.get(city_root, city_root)}, f"*.{province}"]
    }
    if hub_secret_env is not None:
        hub["secret_env"] = hub_secret_env
    else:
        hub["secret"] = hub_secret
    systems: dict[str, Any] = {hub_system: hub}
    for entry in data.agencies:
        if entry.channel.value == "axis" and entry.active:
            systems[f"ministry.{entry.code}"] = {
                "secret": make_secret(entry.code),
                "agencies": [{"code": entry.code, "name": entry.name}],
            }
    return {"systems": systems}


def set_up(
    hub: HubProcess,
    folder: Path,
    data: DirectoryData,
    *,
    hub_url: str,
    webhook_bind: str = "127.0.0.1",
    axis: AxisLink | None = None,
    migrate: bool = True,
) -> Deployment:
    """Import ``data`` into the hub, issue a token to every agency and one to the
    simulators' operator, make the simulators a viewer of the console, and write
    ``directory.yaml`` and ``deployment.yaml`` in ``folder``.

    Raises:
        HubProcessError: a set-up command failed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    directory = folder / "directory.yaml"
    directory.write_text(
        "# Written by lienthong-sim: a directory for simulated agencies (webhook secrets).\n"
        + dump_yaml(data),
        encoding="utf-8",
    )
    codes = [entry.code for entry in data.agencies if entry.active]
    preparing = [["db", "upgrade"]] if migrate else []
    preparing.append(["directory", "import", str(directory.resolve())])
    preparing.append(["operator", "token", OPERATOR, "--label", "lienthong-sim"])
    operator = hub.lienthong_batch(preparing)[-1].strip()
    tokens = issue_tokens(hub, codes)
    deployment = Deployment(
        hub_url=hub_url,
        operator_token=operator,
        directory=Path("directory.yaml"),
        tokens=tokens,
        webhook_bind=webhook_bind,
        axis=axis,
        console=console_viewer(hub),
        base=folder,
    )
    deployment.save(folder / "deployment.yaml")
    return deployment


_ISSUE_TOKENS = """
import json, sys
from hub.db.database import open_database
from hub.settings import load_settings
from hub.auth.tokens import issue_token
codes = json.loads(sys.stdin.read())
with open_database(load_settings()) as database, database.transaction() as session:
    issued = {code: issue_token(session, code, "lienthong-sim").token for code in codes}
print(json.dumps(issued))
"""


def issue_tokens(hub: HubProcess, codes: Sequence[str]) -> dict[str, str]:
    """An API token for each agency of ``codes``, issued in one transaction in a process
    with the hub's settings (as ``lienthong agency token`` does for one).

    Raises:
        HubProcessError: the agencies are not in the directory, or the database refused.
    """
    finished = subprocess.run(
        [sys.executable, "-c", _ISSUE_TOKENS],
        input=json.dumps(list(codes)),
        env=hub.environment,
        cwd=hub.root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if finished.returncode != 0:
        raise HubProcessError(f"issuing the agencies' tokens failed\n{finished.stderr[-3000:]}")
    issued: dict[str, str] = json.loads(finished.stdout)
    return issued


_CONSOLE_VIEWER = """
import json, sys
from hub.db.database import open_database
from hub.settings import load_settings
from hub.console.users import add_user, set_password
from hub.errors import ConflictError
name, password = json.loads(sys.stdin.read())
with open_database(load_settings()) as database, database.transaction() as session:
    try:
        add_user(session, name, "viewer", password, actor="lienthong-sim")
    except ConflictError:
        set_password(session, name, password, actor="lienthong-sim")
"""


def console_viewer(hub: HubProcess, name: str = OPERATOR) -> ConsoleAccount:
    """A viewer of the console with a fresh password (the user is created, or its password
    set again), in a process with the hub's settings.

    Raises:
        HubProcessError: the database refused.
    """
    password = secrets.token_urlsafe(18)
    finished = subprocess.run(
        [sys.executable, "-c", _CONSOLE_VIEWER],
        input=json.dumps([name, password]),
        env=hub.environment,
        cwd=hub.root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if finished.returncode != 0:
        raise HubProcessError(f"making the console viewer failed\n{finished.stderr[-3000:]}")
    return ConsoleAccount(user=name, password=password)


def ports_from(first: int, codes: Iterable[str]) -> dict[str, int]:
    """Consecutive ports from ``first``, one per code, in order."""
    return {code: first + offset for offset, code in enumerate(codes)}
