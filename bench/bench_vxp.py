"""The hub's VXP endpoint against its agency API, on one machine: what speaking VXP costs.

A hub on a throwaway SQLite database serves its API (uvicorn on a thread of this process);
one agency system sends documents through ``sendEdoc`` with the SDK emulator (VxpSdk, every
header the SDK writes, signed), the same number through ``POST /api/v1/packets`` with a
token; the recipient then lists, fetches and acknowledges them through VXP. Prints calls per
second and latency percentiles per operation, and the cost of one call's authentication
(sign-header read, secret decrypted, HMAC checked) measured in process. Client and server
share the machine's cores, so the numbers are a floor, not a capacity.

    .venv/bin/python bench/bench_vxp.py [--documents 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
from sqlalchemy import update

from adapters.payloads.files import FileBlobStore
from edxml.builder import build
from edxml.compose import FileToAttach, new_document
from edxml.models import Organization
from hub.api.app import create_app
from hub.auth.callers import authenticate_bearer
from hub.auth.tokens import issue_token
from hub.db.database import open_database
from hub.db.migrate import upgrade
from hub.db.models import Delivery, DeliveryState
from hub.directory import import_directory, parse_directory
from hub.ingest.service import IngestService
from hub.logging import configure_logging
from hub.settings import Settings
from hub.vxp.secrets import SecretBox, issue_secret, new_key
from hub.vxp.service import VxpService
from simulators.axis import BackgroundServer
from simulators.vxpsdk import VxpSdk

SENDER, RECIPIENT = "000.00.01.H26", "000.00.12.H26"
DIRECTORY = f"""
levels: [{{level: 1, name: Thành phố}}, {{level: 2, name: Sở}}]
agencies:
  - {{code: {SENDER}, name: Văn phòng UBND, level: 2, channel: vxp}}
  - {{code: {RECIPIENT}, name: UBND quận Đống Đa, level: 2, channel: vxp}}
"""
_Result = TypeVar("_Result")


def document(number: int) -> bytes:
    """A document from the sender to the recipient with a small PDF, numbered ``number``."""
    packet, contents = new_document(
        sender=Organization(organ_id=SENDER, organ_name="Văn phòng UBND thành phố"),
        recipients=(Organization(organ_id=RECIPIENT, organ_name="UBND quận Đống Đa"),),
        number=str(number),
        notation="VP-BENCH",
        subject=f"Văn bản đo hiệu năng số {number}",
        date=dt.date(2026, 12, 7),
        place="Hà Nội",
        files=(FileToAttach(b"%PDF-1.7 bench " * 400, name="vanban.pdf"),),
        timestamp=dt.datetime(2026, 12, 7, 9, 0, 0),
    )
    return build(packet, contents)


def need(condition: object, why: object) -> None:
    """Stop the run when a call did not do what it must (the numbers would mean nothing)."""
    if not condition:
        raise SystemExit(f"benchmark call failed: {why}")


def timed(call: Callable[[], _Result], into: list[float]) -> _Result:
    started = time.perf_counter()
    result = call()
    into.append(time.perf_counter() - started)
    return result


def report(name: str, seconds: list[float]) -> None:
    ordered = sorted(seconds)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[int(len(ordered) * 0.95) - 1] * 1000
    rate = len(ordered) / sum(ordered)
    print(
        f"{name:<40} {len(ordered):>5} calls  {rate:8.1f}/s  p50 {p50:6.2f} ms  p95 {p95:6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=200)
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), vxp_keys=new_key())
        upgrade(settings)
        with open_database(settings) as database:
            with database.transaction() as session:
                import_directory(session, parse_directory(DIRECTORY, "yaml"))
                box = SecretBox(settings.vxp.key_list)
                secrets = {
                    code: issue_secret(session, box, code).secret for code in (SENDER, RECIPIENT)
                }
                token = issue_token(session, SENDER).token
            blobs = FileBlobStore(settings.storage.blob_dir)
            app = create_app(settings, database, blobs)
            packets = [document(number) for number in range(1, 2 * args.documents + 1)]
            print(f"{2 * args.documents} documents of {len(packets[0])} bytes, SQLite, one process")
            with BackgroundServer(app) as server:
                endpoint = f"{server.url}/vxp"
                sender = VxpSdk(endpoint, SENDER, secrets[SENDER])
                receiver = VxpSdk(endpoint, RECIPIENT, secrets[RECIPIENT])
                api = httpx.Client(
                    base_url=server.url, headers={"Authorization": f"Bearer {token}"}
                )
                sends: list[float] = []
                posts: list[float] = []
                for data in packets[: args.documents]:
                    sent = timed(lambda data=data: sender.send_edoc(data, sender=SENDER), sends)
                    need(sent is not None and sent.ok, sender.last_error or sent)
                for data in packets[args.documents :]:
                    answer = timed(
                        lambda data=data: api.post("/api/v1/packets", content=data), posts
                    )
                    need(answer.status_code == 202, answer.text)
                with database.transaction() as session:
                    session.execute(update(Delivery).values(state=DeliveryState.AVAILABLE))
                lists: list[float] = []
                fetches: list[float] = []
                acks: list[float] = []
                taken = 0
                while True:
                    listed = timed(lambda: receiver.get_received_edoc_list("edoc"), lists)
                    need(listed is not None and listed.ok, receiver.last_error or listed)
                    assert listed is not None
                    if not listed.items:
                        break
                    for item in listed.items[:50]:
                        fetched = timed(lambda item=item: receiver.get_edoc(item.doc_id), fetches)
                        need(fetched is not None and fetched.data, receiver.last_error)
                        acked = timed(
                            lambda item=item: receiver.update_status(item.doc_id, "done"), acks
                        )
                        need(acked is not None and acked.ok, receiver.last_error or acked)
                        taken += 1
                report("sendEdoc (VXP, SDK headers)", sends)
                report("POST /api/v1/packets (token)", posts)
                report("getReceivedEdocList (≤500 items)", lists)
                report("getEdoc", fetches)
                report("updateStatus done", acks)
                print(f"deliveries taken through VXP: {taken}")
                headers = list(sender.last_exchange.request.headers.raw)  # type: ignore[union-attr]
                sender.close()
                receiver.close()
                api.close()
            service = VxpService(
                settings, database, blobs, IngestService(settings, database, blobs)
            )
            checks: list[float] = []
            for _ in range(500):
                timed(lambda: service.authenticate(headers), checks)
            report("VXP authentication alone (in process)", checks)
            bearer: list[float] = []

            def check_token() -> None:
                with database.transaction() as session:
                    authenticate_bearer(session, token)

            for _ in range(500):
                timed(check_token, bearer)
            report("bearer token check alone (in process)", bearer)


if __name__ == "__main__":
    main()
