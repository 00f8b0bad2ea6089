"""Fuzz the agency API through its OpenAPI document (schemathesis), against a real hub.

    .venv/bin/python -m tests.fuzz.api [--seconds 60] [--workdir .fuzz]

A hub is made in a temporary folder (SQLite, the Hà Nội sample directory, a document already
delivered to the fuzzing agency's inbox, a VXP key and an evidence key) and served over a
real socket by uvicorn with the hub's own HTTP protocol, as `lienthong serve` serves it.
schemathesis then reads ``/openapi.json`` and sends every operation valid and invalid
requests for the time given: with an agency token first, then with an operator token (for
the operators' endpoints), two thirds and one third of the time. The check is that nothing
answers 5xx: every input error must reach the caller as a 4xx with a stable code.

Packet bodies also come from seeds (:mod:`tests.fuzz.api_hooks`): packets the project builds,
from the fuzzing agency and to it, and the public samples, each possibly cut or altered; the
ids in paths are sometimes the hub's real ones, so requests get past "not found". Failures
are written under WORKDIR/api/ (a JUnit report and a pytest file replaying each one); the
exit status is non-zero when any was found.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AGENCY = "000.21.22.H26"
"""The fuzzing agency: a ward of the sample directory, on the inbox channel."""
PEER = "000.00.22.H26"
"""Its district, which sends it a document and receives its own."""
SEEDS_VARIABLE = "LIENTHONG_FUZZ_API_SEEDS"
"""Environment variable naming the JSON file of seed packets and ids for the hooks."""


@dataclass(frozen=True)
class FuzzHub:
    """A served hub to fuzz: its base URL and the tokens to fuzz with."""

    url: str
    agency_token: str
    operator_token: str


def _seed_packets() -> list[bytes]:
    """Packets from and to the fuzzing agency, and the first to be accepted before fuzzing."""
    from edxml import Organization, build, new_document, status_for
    from edxml.compose import FileToAttach

    def document(sender: str, recipient: str, number: str) -> tuple[object, bytes]:
        packet, contents = new_document(
            sender=Organization(organ_id=sender),
            recipients=[Organization(organ_id=recipient)],
            number=number,
            notation="UBND-VP",
            subject="Về việc kiểm thử liên thông",
            date=dt.date(2026, 12, 7),
            place="Hà Nội",
            files=(FileToAttach(b"%PDF-1.7 fuzz", name="vanban.pdf"),),
            timestamp=dt.datetime(2026, 12, 7, 8, 0, 0),
        )
        return packet, build(packet, contents)

    received, received_raw = document(PEER, AGENCY, "1")
    _, sent_raw = document(AGENCY, PEER, "2")
    status = build(
        status_for(received, "03", timestamp=dt.datetime(2026, 12, 7, 9, 0, 0))  # type: ignore[arg-type]
    )
    from tests.fuzz import seeds

    return [received_raw, sent_raw, status, *seeds.sample_packets()]


@contextmanager
def fuzz_hub(folder: Path) -> Iterator[tuple[FuzzHub, Path]]:
    """A hub on SQLite under ``folder``, served on a free port; and the seeds file."""
    import uvicorn

    from adapters.payloads.files import FileBlobStore
    from hub.api.app import create_app
    from hub.api.serving import http_protocol
    from hub.auth.callers import AuthenticatedAgency, issue_operator_token
    from hub.auth.tokens import issue_token
    from hub.bootstrap import build_console
    from hub.channels.inbox import list_inbox
    from hub.db.database import open_database
    from hub.db.migrate import upgrade
    from hub.db.models import Delivery, DeliveryState
    from hub.directory import import_directory, read_directory_file, sample_directory
    from hub.evidence.signing import load_signer, self_signed
    from hub.logging import configure_logging
    from hub.settings import Settings
    from hub.vxp.secrets import new_key

    configure_logging("WARNING")
    key_pem, cert_pem = self_signed("lienthong fuzz")
    (folder / "evidence.key").write_bytes(key_pem)
    (folder / "evidence.pem").write_bytes(cert_pem)
    settings = Settings(
        database_url=f"sqlite:///{(folder / 'lienthong.db').as_posix()}",
        data_dir=folder / "var",
        vxp_keys=new_key(),
        evidence_key_file=folder / "evidence.key",
        evidence_cert_file=folder / "evidence.pem",
        console_stats_seconds=0.0,
    )
    upgrade(settings)
    packets = _seed_packets()
    with open_database(settings) as database:
        blobs = FileBlobStore(settings.storage.blob_dir)
        with database.transaction() as session:
            import_directory(session, read_directory_file(sample_directory("hanoi")))
            agency_token = issue_token(session, AGENCY, "fuzz").token
            operator_token = issue_operator_token(session, "fuzz").token
        app = create_app(
            settings,
            database,
            blobs,
            console=build_console(settings, database, blobs),
            evidence=load_signer(folder / "evidence.key", folder / "evidence.pem"),
        )
        context = app.state.context
        received = context.ingest.accept(packets[0], AuthenticatedAgency(PEER, PEER))
        sent = context.ingest.accept(packets[1], AuthenticatedAgency(AGENCY, AGENCY))
        with database.transaction() as session:
            for delivery in received.deliveries:
                row = session.get(Delivery, delivery.delivery_id)
                assert row is not None
                row.state = DeliveryState.AVAILABLE
            waiting = [item.delivery_id for item in list_inbox(session, AGENCY)]
        ids = {
            "packet_id": [received.packet_id, sent.packet_id],
            "delivery_id": waiting,
            "document_id": [received.document_id, sent.document_id],
        }
        seeds_file = folder / "seeds.json"
        seeds_file.write_text(
            json.dumps({"packets": [base64.b64encode(p).decode() for p in packets], "ids": ids})
        )
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=0,
                log_config=None,
                access_log=False,
                http=http_protocol(settings.api.header_timeout),
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the hub under fuzzing did not start")
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield FuzzHub(f"http://127.0.0.1:{port}", agency_token, operator_token), seeds_file
        finally:
            server.should_exit = True
            thread.join(timeout=15)


def schemathesis_command(
    hub: FuzzHub, token: str, seconds: int, report: Path, *, operations: str | None = None
) -> list[str]:
    """The schemathesis run against ``hub`` with ``token`` for ``seconds``."""
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{hub.url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-time",
        str(max(1, seconds)),
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--suppress-health-check",
        "all",
        "--report",
        "junit,pytest",
        "--report-dir",
        str(report),
        "--output-truncate",
        "true",
    ]
    if operations is not None:
        command += ["--include-path-regex", operations]
    return command


def run(seconds: int, workdir: Path, *, capture: bool = False) -> subprocess.CompletedProcess[str]:
    """Fuzz the API for about ``seconds``; a non-zero exit status means a 5xx was found."""
    workdir = workdir.resolve()
    report = workdir / "api"
    shutil.rmtree(report, ignore_errors=True)
    report.mkdir(parents=True)
    outputs: list[str] = []
    code = 0
    with (
        tempfile.TemporaryDirectory(prefix="lienthong-fuzz-api-") as folder,
        fuzz_hub(Path(folder)) as (hub, seeds_file),
    ):
        # Run from WORKDIR: schemathesis keeps its examples and crashes under the working
        # directory (.schemathesis/, .hypothesis/), which then grow from run to run there.
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.api_hooks"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env[SEEDS_VARIABLE] = str(seeds_file)
        passes = [
            (hub.agency_token, seconds * 2 // 3, None, "agency"),
            (hub.operator_token, seconds - seconds * 2 // 3, r"^/api/v1/replays", "operator"),
        ]
        for token, share, operations, name in passes:
            done = subprocess.run(
                schemathesis_command(hub, token, share, report / name, operations=operations),
                cwd=workdir,
                env=env,
                capture_output=capture,
                text=True,
                check=False,
            )
            outputs.append((done.stdout or "") + (done.stderr or ""))
            code = code or done.returncode
    return subprocess.CompletedProcess(["fuzz-api"], code, "\n".join(outputs), "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="time of the whole run")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".fuzz")
    args = parser.parse_args()
    code = run(args.seconds, args.workdir).returncode
    if code != 0:
        print(f"== api: a 5xx answer found (exit {code}); see {args.workdir}/api")
    raise SystemExit(code)


if __name__ == "__main__":
    main()
