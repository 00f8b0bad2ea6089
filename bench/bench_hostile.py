"""Complexity benchmark: hostile packets and requests at n, 2n and 4n, each in a fresh process.

For every dimension a sender controls (token lengths, counts of recipients, issues,
attachments, elements, nesting ...) it builds a packet at three sizes, runs it through a
target (the library's full read, validate and signature-check path, ``edxml.inspect_packet``)
in a new Python process, and prints CPU seconds (the fastest of ``--repeat`` runs), peak RSS,
what the process grew by, and the growth of CPU time per doubling of n; then the worst case.

The HTTP dimensions serve a hub (SQLite, in a child process, as `lienthong serve` serves it)
and measure that process: connections that declare 40 MB and send one byte, a packet at up
to the packet limit posted to ``/api/v1/packets``, and how long an upload (or headers) that
stalls stays open. Targets: every ratio at most 2.3, no packet (up to the 50 MiB a hub
accepts) costing more than 2 s of CPU or 300 MB, 20 slow connections costing the API under
200 MB, a stalled upload closed within 60 s. Prints numbers; ``--strict`` exits 1 when a
target is missed.

    .venv/bin/python bench/bench_hostile.py [--only NAME ...] [--scale 0.5] [--strict] [--list]

A dimension is one entry of :data:`DIMENSIONS`; its ``target`` names an entry of
:data:`TARGETS`, a function run in the child process on the packet's bytes and returning the
outcome as text, or of :data:`SERVED`, a measurement of the served hub.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gc
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RATIO_MAX = 2.3
CPU_MAX = 2.0
RSS_MAX_MB = 300.0
SLOW_GROWTH_MAX_MB = 200.0
"""What 20 connections declaring 40 MB and sending one byte may add to the API."""
STALL_MAX_S = 60.0
PACKET_MAX = 50 * 1024 * 1024
TIME_FLOOR = 0.02
"""CPU times under this count as this much in a ratio: below it a ratio measures noise."""

MiB = 1024 * 1024


# -- targets: what runs in the child ---------------------------------------------------------


def _read_and_validate(data: bytes) -> str:
    """The library path the hub takes on ingest: read, schema-check, verify the signature."""
    from edxml import EdxmlError, inspect_packet
    from edxml.limits import Limits

    try:
        inspection, _ = inspect_packet(data, limits=Limits(max_bytes=PACKET_MAX))
    except EdxmlError as exc:
        return f"refused {exc.code}"
    if inspection.valid:
        return "valid"
    codes = sorted({str(issue["code"]) for issue in inspection.issues})
    return f"invalid {len(inspection.issues)}: {','.join(codes)}"


def _warm_up_edxml() -> None:
    """Load what the first packet would otherwise pay for (imports, compiled schemas)."""
    from edxml import inspect_packet

    inspect_packet(_base(), verify_signature=True)


TARGETS: dict[str, tuple[Callable[[bytes], str], Callable[[], None]]] = {
    "edxml": (_read_and_validate, _warm_up_edxml),
}
"""Target name → (the work measured on a packet's bytes, a warm-up run before measuring)."""


# -- packets ---------------------------------------------------------------------------------

BODY = b"<edXML:edXMLBody>"
MANIFEST = b'<edXML:edXMLManifest version="1.0">'
FIRST_TO = b"<edXML:To>"
DOCUMENT_ID = b"<edXML:DocumentId>"
SUBJECT = "Về việc triển khai chữ ký số chuyên dùng".encode()
ATTACHMENTS = b"<AttachmentEncoded>"
EDXML_NS = b"http://www.mic.gov.vn/TBT/QCVN_102_2016"
DSIG_NS = b"http://www.w3.org/2000/09/xmldsig#"

_base_packet: bytes | None = None


def _base() -> bytes:
    """A small valid document with one attachment, built by the project's own code."""
    global _base_packet
    if _base_packet is None:
        from edxml.builder import build
        from edxml.compose import FileToAttach, new_document

        packet, contents = new_document(
            sender="000.05.12.H26",
            recipients=["000.00.12.H26", "000.00.00.H26"],
            number="15",
            notation="UBND-VP",
            subject=SUBJECT.decode(),
            date=dt.date(2026, 11, 20),
            place="Hà Nội",
            files=[FileToAttach(b"%PDF-1.7 bench", name="vanban.pdf")],
            timestamp=dt.datetime(2026, 11, 20, 8, 30, 0),
        )
        _base_packet = build(packet, contents)
    return _base_packet


def _insert(marker: bytes, text: bytes, *, replace: bool = False) -> bytes:
    """The base packet with ``text`` written before ``marker`` (or instead of it)."""
    base = _base()
    assert marker in base, marker
    return base.replace(marker, text if replace else text + marker, 1)


def _in_header(text: bytes) -> bytes:
    """``text`` as extension content of the MessageHeader (kept, never refused)."""
    return _insert(DOCUMENT_ID, b"<edXML:Note>" + text + b"</edXML:Note>\n")


def _attribute_value(n: int) -> bytes:
    return _insert(MANIFEST, MANIFEST[:-1] + b' note="' + b"v" * n + b'">', replace=True)


def _comment(n: int) -> bytes:
    return _insert(BODY, b"<!--" + b"c" * n + b"-->")


def _pi(n: int) -> bytes:
    return _insert(BODY, b"<?note " + b"p" * n + b"?>")


def _element_name(n: int) -> bytes:
    return _insert(BODY, b"<" + b"e" * n + b"/>")


def _tag_whitespace(n: int) -> bytes:
    return _insert(BODY, BODY[:-1] + b" " * n + b">", replace=True)


def _reference(n: int) -> bytes:
    return _insert(SUBJECT, b"&#" + b"0" * n + b"65;", replace=True)


def _header_text(n: int) -> bytes:
    return _insert(SUBJECT, ("chữ" * (n // 3)).encode(), replace=True)


def _attachment(n: int) -> bytes:
    content = base64.encodebytes(bytes(range(256)) * (n * 3 // 4 // 256))
    one = (
        b"<Attachment><ContentId>cid:big</ContentId><AttachmentName>lon.pdf</AttachmentName>"
        b'<edXML:ContentTransferEncoded xmlns:edXML="' + EDXML_NS + b'">' + content
        + b"</edXML:ContentTransferEncoded></Attachment>\n"
    )  # fmt: skip
    return _insert(ATTACHMENTS, ATTACHMENTS + one, replace=True)


def _attachments(n: int) -> bytes:
    one = (
        b"<Attachment><ContentId>cid:%d</ContentId><AttachmentName>%d.pdf</AttachmentName>"
        b'<edXML:ContentTransferEncoded xmlns:edXML="' + EDXML_NS + b'">JVBERi0xLjc=</edXML'
        b":ContentTransferEncoded></Attachment>\n"
    )  # fmt: skip
    many = b"".join(one % (i, i) for i in range(n - 1))
    return _insert(ATTACHMENTS, ATTACHMENTS + many, replace=True)


def _recipients(n: int) -> bytes:
    one = b"<edXML:To><edXML:OrganId>%05d.99.H26</edXML:OrganId></edXML:To>\n"
    return _insert(FIRST_TO, b"".join(one % i for i in range(n - 2)))


def _duplicate_recipients(n: int) -> bytes:
    one = b"<edXML:To><edXML:OrganId>000.00.12.H26</edXML:OrganId></edXML:To>\n"
    return _insert(FIRST_TO, one * n)


def _recipients_without_id(n: int) -> bytes:
    return _insert(FIRST_TO, b"<edXML:To><edXML:OrganName>x</edXML:OrganName></edXML:To>\n" * n)


def _schema_issues(n: int) -> bytes:
    one = (
        b"<edXML:To><edXML:OrganId>%05d.99.H26</edXML:OrganId>"
        b"<edXML:OrganId>x</edXML:OrganId></edXML:To>\n"
    )
    return _insert(FIRST_TO, b"".join(one % i for i in range(n)))


def _grouped(item: bytes, n: int, per: int = 1000) -> bytes:
    """``n`` items in MessageHeader extensions of ``per`` items each (within max_children)."""
    groups = [item * min(per, n - start) for start in range(0, n, per)]
    return _insert(DOCUMENT_ID, b"".join(b"<edXML:Note>" + g + b"</edXML:Note>\n" for g in groups))


def _elements(n: int) -> bytes:
    return _grouped(b"<q/>", n)


def _children(n: int) -> bytes:
    return _in_header(b"<q/>" * n)


def _attributes(n: int) -> bytes:
    one = b"<q " + b" ".join(b'a%d=""' % i for i in range(50)) + b"/>\n"
    return _in_header(one * (n // 50))


def _schema_errors(n: int) -> bytes:
    """``n`` elements each failing the schema, as many siblings as one element may have:
    libxml2 names each error by its position among them."""
    return _grouped(b"<edXML:edXMLEnvelope/>", n, per=1990)


def _comments(n: int) -> bytes:
    return _insert(BODY, b"<!--c-->" * n)


def _nesting(n: int) -> bytes:
    return _grouped(b"<n>" * 40 + b"</n>" * 40, n, per=500)


def _replies(n: int) -> bytes:
    one = b"<edXML:ResponseFor><edXML:OrganId>000.00.00.H26</edXML:OrganId></edXML:ResponseFor>\n"
    return _insert(DOCUMENT_ID, one * n)


def _signatures(n: int) -> bytes:
    one = (
        b'<Signature xmlns="' + DSIG_NS + b'"><SignedInfo><CanonicalizationMethod Algorithm='
        b'"http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/><SignatureMethod Algorithm='
        b'"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><Reference URI=""><DigestMethod '
        b'Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue>AAAA</DigestValue>'
        b"</Reference></SignedInfo><SignatureValue>AAAA</SignatureValue></Signature>\n"
    )  # fmt: skip
    return _insert(b"</edXML:edXMLHeader>", one * n)


def _character_references(n: int) -> bytes:
    refs = b"&#65;&#65;&#65;&#65;" * (n // 4)
    return _insert(b"JVBERi0xLjcgYmVuY2g=", refs, replace=True)


@dataclass(frozen=True)
class Dimension:
    """One thing a sender can make large: a packet of ``n`` of it, and what reads it."""

    name: str
    unit: str
    n: int
    build: Callable[[int], bytes]
    target: str = "edxml"
    factors: tuple[int, ...] = (1, 2, 4)
    growth_max_mb: float | None = None
    """Most the process may grow by (else only its peak is judged)."""
    wall_max: float | None = None
    """Most wall time a measurement may take (a connection's time to be closed)."""
    floor: float = TIME_FLOOR
    """CPU times under this count as this much in a ratio (the noise of the measurement)."""


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("attribute value", "bytes", 12 * MiB, _attribute_value),
    Dimension("comment", "bytes", 12 * MiB, _comment),
    Dimension("processing instruction", "bytes", 12 * MiB, _pi),
    Dimension("element name", "bytes", 12 * MiB, _element_name),
    Dimension("whitespace in a tag", "bytes", 12 * MiB, _tag_whitespace),
    Dimension("character reference", "bytes", 12 * MiB, _reference),
    Dimension("header text", "chars", 256 * 1024, _header_text),
    Dimension("attachment content", "bytes", 12 * MiB, _attachment),
    Dimension("character references", "refs", 2_000_000, _character_references),
    Dimension("elements over the limit", "count", 100_000, _elements),
    Dimension("attachments", "count", 250, _attachments),
    Dimension("recipients", "count", 250, _recipients),
    Dimension("duplicate recipients", "count", 2_500, _duplicate_recipients),
    Dimension("recipients without OrganId", "count", 2_000, _recipients_without_id),
    Dimension("schema issues", "count", 2_000, _schema_issues),
    Dimension("schema errors", "count", 12_000, _schema_errors),
    Dimension("elements", "count", 12_000, _elements),
    Dimension("children of one element", "count", 2_500, _children),
    Dimension("attributes", "count", 4_900, _attributes),
    Dimension("comments", "count", 2_499, _comments),
    Dimension("nested chains (depth 40)", "count", 300, _nesting),
    Dimension("ResponseFor", "count", 450, _replies),
    Dimension("signatures", "count", 400, _signatures),
)


# -- the HTTP API: a hub served in a child process, measured from outside ---------------------

SENDER, RECIPIENTS = "000.05.12.H26", ("000.00.12.H26", "000.00.00.H26")
"""The base packet's agencies: the served hub's directory."""
DIRECTORY = f"""
levels:
  - {{level: 1, name: Thành phố}}
  - {{level: 2, name: Quận}}
  - {{level: 3, name: Phường}}
agencies:
  - {{code: {RECIPIENTS[1]}, name: UBND Thành phố, level: 1, channel: inbox}}
  - {{code: {RECIPIENTS[0]}, name: UBND quận, level: 2, parent: {RECIPIENTS[1]}, channel: inbox}}
  - {{code: {SENDER}, name: UBND phường, level: 3, parent: {RECIPIENTS[0]}, channel: inbox}}
"""
SLOW_DECLARED = 40_000_000
"""What each slow connection declares it will send (it sends one byte)."""


def serve(folder: str) -> None:
    """In the child: a hub on SQLite under ``folder``, served by uvicorn with the hub's HTTP
    protocol; ``ready.json`` says its port and an agency token once it takes requests. Caps
    on uploads at once are raised so that memory, not the caps, is what is measured."""
    import uvicorn

    from hub.api.serving import http_protocol
    from hub.auth.tokens import issue_token
    from hub.bootstrap import build_api
    from hub.db.database import open_database
    from hub.db.migrate import upgrade
    from hub.directory import import_directory, parse_directory
    from hub.known_warnings import silence_known_warnings
    from hub.logging import configure_logging
    from hub.settings import Settings

    configure_logging("WARNING")
    silence_known_warnings()
    root = Path(folder)
    settings = Settings(
        database_url=f"sqlite:///{(root / 'hub.db').as_posix()}",
        data_dir=root / "var",
        max_uploads=256,
        max_uploads_per_agency=256,
    )
    upgrade(settings)
    with open_database(settings) as database:
        with database.transaction() as session:
            import_directory(session, parse_directory(DIRECTORY, "yaml"))
            token = issue_token(session, SENDER, "bench").token
        app = build_api(settings, database)
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

        def announce() -> None:
            while not server.started:
                time.sleep(0.02)
            port = server.servers[0].sockets[0].getsockname()[1]
            ready = {"port": port, "token": token}
            (root / "ready.tmp").write_text(json.dumps(ready))
            (root / "ready.tmp").rename(root / "ready.json")

        threading.Thread(target=announce, daemon=True).start()
        server.run()


@dataclass(frozen=True)
class Served:
    """A hub served by a child process: where, with what token, and the process."""

    url: str
    port: int
    token: str
    pid: int

    def cpu(self) -> float:
        """CPU seconds the process has used."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_mb(self) -> tuple[float, float]:
        """The process's resident memory now and at its peak (VmRSS, VmHWM)."""
        found = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                found[line[:5]] = int(line.split()[1]) / 1024
        return found["VmRSS"], found["VmHWM"]


@contextmanager
def served_hub(folder: Path) -> Iterator[Served]:
    """A fresh hub in a child process, warmed up by one packet."""
    import httpx

    root = Path(tempfile.mkdtemp(dir=folder))
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(root)], cwd=ROOT, stdin=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while not (root / "ready.json").exists():
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the hub to measure did not start")
            time.sleep(0.05)
        ready = json.loads((root / "ready.json").read_text())
        served = Served(
            f"http://127.0.0.1:{ready['port']}", ready["port"], ready["token"], child.pid
        )
        warm = _base().replace(b"15/UBND-VP", b"14/UBND-VP")  # not the measured DocumentId
        httpx.post(f"{served.url}/api/v1/packets", content=warm, headers=_auth(served), timeout=60)
        yield served
    finally:
        child.terminate()
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _auth(served: Served) -> dict[str, str]:
    return {"Authorization": f"Bearer {served.token}", "Content-Type": "application/xml"}


def _begin_upload(served: Served, declared: int) -> socket.socket:
    """A connection that sent a packet's headers and one byte of a ``declared`` body."""
    connection = socket.create_connection(("127.0.0.1", served.port), timeout=120)
    head = (
        f"POST /api/v1/packets HTTP/1.1\r\nHost: hub\r\nContent-Length: {declared}\r\n"
        f"Authorization: Bearer {served.token}\r\nContent-Type: application/xml\r\n\r\n<"
    )
    connection.sendall(head.encode())
    return connection


def _http_post(dimension: Dimension, n: int, folder: Path, repeat: int) -> Measure:
    """A packet of ``n`` posted to the agency API; the API process's cost."""
    import httpx

    data = dimension.build(n)
    with served_hub(folder) as served:
        base, _ = served.memory_mb()
        best = (float("inf"), 0.0)
        outcome = ""
        for _ in range(min(repeat, 3)):
            before, started = served.cpu(), time.perf_counter()
            answer = httpx.post(
                f"{served.url}/api/v1/packets", content=data, headers=_auth(served), timeout=120
            )
            wall = time.perf_counter() - started
            best = min(best, (served.cpu() - before, wall))
            body = answer.json()
            outcome = outcome or f"{answer.status_code} " + (
                body["error"]["code"] if "error" in body else body.get("kind", "")
            )
        _, peak = served.memory_mb()
    return Measure(len(data), outcome, best[0], best[1], peak, peak - base)


def _slow_connections(dimension: Dimension, n: int, folder: Path, repeat: int) -> Measure:
    """``n`` connections declaring 40 MB that send one byte; what they cost the API."""
    with served_hub(folder) as served:
        base, _ = served.memory_mb()
        before, started = served.cpu(), time.perf_counter()
        connections = [_begin_upload(served, SLOW_DECLARED) for _ in range(n)]
        time.sleep(1.5)
        _, peak = served.memory_mb()
        cpu, wall = served.cpu() - before, time.perf_counter() - started
        for connection in connections:
            connection.close()
    return Measure(n * SLOW_DECLARED, f"{n} open", cpu, wall, peak, peak - base)


def _closed_after(connection: socket.socket) -> float:
    started = time.perf_counter()
    while connection.recv(65536):
        pass
    return time.perf_counter() - started


def _stalled_upload(dimension: Dimension, n: int, folder: Path, repeat: int) -> Measure:
    """Uploads that stop after one byte: how long until the API closes them."""
    with served_hub(folder) as served:
        connections = [_begin_upload(served, SLOW_DECLARED) for _ in range(n)]
        waited = max(_closed_after(connection) for connection in connections)
        _, peak = served.memory_mb()
    return Measure(n, "closed", 0.0, waited, peak, 0.0)


def _stalled_headers(dimension: Dimension, n: int, folder: Path, repeat: int) -> Measure:
    """Connections that never finish their headers: how long until the API closes them."""
    with served_hub(folder) as served:
        connections = []
        for _ in range(n):
            connection = socket.create_connection(("127.0.0.1", served.port), timeout=120)
            connection.sendall(b"POST /api/v1/packets HTTP/1.1\r\nHost: hub\r\n")
            connections.append(connection)
        waited = max(_closed_after(connection) for connection in connections)
        _, peak = served.memory_mb()
    return Measure(n, "closed", 0.0, waited, peak, 0.0)


def _nothing(n: int) -> bytes:
    return b""


SERVED: dict[str, Callable[[Dimension, int, Path, int], Measure]] = {
    "http-post": _http_post,
    "http-slow": _slow_connections,
    "http-stalled-upload": _stalled_upload,
    "http-stalled-headers": _stalled_headers,
}
"""Targets measured on a served hub: (dimension, n, scratch folder, repeat) → measure."""

HTTP_DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("HTTP: attachment content", "bytes", 12 * MiB, _attachment, "http-post"),
    Dimension("HTTP: attribute value", "bytes", 12 * MiB, _attribute_value, "http-post"),
    Dimension(
        "HTTP: 40 MB declared, 1 sent",
        "conns",
        5,
        _nothing,
        "http-slow",
        growth_max_mb=SLOW_GROWTH_MAX_MB,
        floor=0.1,  # the served process's own work over the 1.5 s it is watched
    ),
    Dimension(
        "HTTP: stalled upload",
        "conns",
        2,
        _nothing,
        "http-stalled-upload",
        (1,),
        wall_max=STALL_MAX_S,
    ),
    Dimension(
        "HTTP: stalled headers",
        "conns",
        2,
        _nothing,
        "http-stalled-headers",
        (1,),
        wall_max=STALL_MAX_S,
    ),
)


# -- measuring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """One packet read (or request served) in a child process."""

    size: int
    outcome: str
    cpu: float
    wall: float
    rss_mb: float
    """The process's peak resident memory."""
    grown_mb: float = 0.0
    """How much of that peak the measured work added."""


def child(target: str, path: str, repeat: int) -> None:
    """In the child: warm up, read the packet, run the target ``repeat`` times, print the
    facts of the fastest run (the others differ by noise) and the peak memory as JSON."""
    work, warm_up = TARGETS[target]
    warm_up()
    data = Path(path).read_bytes()
    base_kib = _rss_kib()
    best = (float("inf"), 0.0)
    outcome = ""
    for _ in range(repeat):
        gc.collect()
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        try:
            outcome = work(data)
        except Exception as exc:  # a crash is a finding: report it, do not hide it
            outcome = f"CRASH {type(exc).__name__}: {exc}"[:200]
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = min(best, (cpu, wall))
    peak = _peak_rss_kib() / 1024
    facts = {
        "outcome": outcome,
        "cpu": best[0],
        "wall": best[1],
        "rss_mb": peak,
        "grown_mb": peak - base_kib / 1024,
    }
    print(json.dumps(facts))


def _rss_kib() -> int:
    """This process's resident memory now (VmRSS)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _peak_rss_kib() -> int:
    """This process's peak resident memory (VmHWM; ru_maxrss would count the parent's peak,
    which Linux carries over an exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(dimension: Dimension, n: int, folder: Path, repeat: int) -> Measure:
    """Build the packet of ``n`` and read it in a new process (or serve the request)."""
    if dimension.target in SERVED:
        try:
            return SERVED[dimension.target](dimension, n, folder, repeat)
        except Exception as exc:  # a failure is a finding: report it, do not hide it
            return Measure(0, f"CRASH {type(exc).__name__}: {exc}"[:120], float("nan"), 0.0, 0.0)
    data = dimension.build(n)
    path = folder / "packet.edxml"
    path.write_bytes(data)
    done = subprocess.run(
        [sys.executable, __file__, "--child", dimension.target, str(path), str(repeat)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    path.unlink()
    if done.returncode != 0 or not done.stdout.strip():
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Measure(len(data), f"CHILD FAILED: {tail}"[:120], float("nan"), 0.0, 0.0)
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    return Measure(
        len(data), facts["outcome"], facts["cpu"], facts["wall"], facts["rss_mb"], facts["grown_mb"]
    )


def ratio(previous: Measure, current: Measure, floor: float = TIME_FLOOR) -> float:
    """Growth of CPU time from n to 2n, times under the floor counted as the floor."""
    return max(current.cpu, floor) / max(previous.cpu, floor)


def misses(dimension: Dimension, measure: Measure, growth: float | None) -> list[str]:
    """The targets a measurement misses."""
    found = []
    if measure.outcome.startswith(("CRASH", "CHILD FAILED")):
        found.append("crash")
    if not measure.cpu <= CPU_MAX:
        found.append("cpu")
    if dimension.growth_max_mb is not None:
        if measure.grown_mb > dimension.growth_max_mb:
            found.append("growth")
    elif measure.rss_mb > RSS_MAX_MB:
        found.append("rss")
    if dimension.wall_max is not None and measure.wall > dimension.wall_max:
        found.append("wall")
    if growth is not None and growth > RATIO_MAX:
        found.append("ratio")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="dimensions to run (default: all)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every n by this")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--list", action="store_true", help="list the dimensions and stop")
    parser.add_argument("--repeat", type=int, default=5, help="runs per packet; the fastest counts")
    parser.add_argument("--no-http", action="store_true", help="skip the served hub's dimensions")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        target, packet, repeat = args.child
        child(target, packet, int(repeat))
        return
    if args.serve:
        serve(args.serve)
        return
    every = DIMENSIONS + (() if args.no_http else HTTP_DIMENSIONS)
    chosen = [d for d in every if not args.only or d.name in args.only]
    if args.list or not chosen:
        for dimension in DIMENSIONS + HTTP_DIMENSIONS:
            print(f"{dimension.name:<30} n = {dimension.n} {dimension.unit} ({dimension.target})")
        return
    print(
        f"targets: ratio <= {RATIO_MAX} per doubling (times under {TIME_FLOOR} s count as "
        f"{TIME_FLOOR}), cpu <= {CPU_MAX} s, peak RSS <= {RSS_MAX_MB:.0f} MB, packets <= 50 MiB; "
        f"slow connections add <= {SLOW_GROWTH_MAX_MB:.0f} MB, stalls closed <= {STALL_MAX_S:.0f} s"
    )
    header = (
        f"{'dimension':<30} {'n':>10} {'size MB':>8} {'cpu s':>7} {'wall s':>7} "
        f"{'rss MB':>7} {'+MB':>6} {'ratio':>6}  outcome"
    )
    print(header)
    print("-" * len(header))
    rows: list[tuple[Dimension, int, Measure, float | None, list[str]]] = []
    with tempfile.TemporaryDirectory() as folder:
        for dimension in chosen:
            previous: Measure | None = None
            for factor in dimension.factors:
                n = max(1, int(dimension.n * args.scale)) * factor
                result = measure(dimension, n, Path(folder), args.repeat)
                growth = ratio(previous, result, dimension.floor) if previous else None
                missed = misses(dimension, result, growth)
                rows.append((dimension, n, result, growth, missed))
                shown = f"{growth:6.2f}" if growth is not None else "     -"
                flag = f"  MISSED: {', '.join(missed)}" if missed else ""
                print(
                    f"{dimension.name:<30} {n:>10} {result.size / 1e6:8.2f} {result.cpu:7.3f} "
                    f"{result.wall:7.3f} {result.rss_mb:7.1f} {result.grown_mb:6.1f} {shown}  "
                    f"{result.outcome}{flag}",
                    flush=True,
                )
                previous = result
    _summary(rows, strict=args.strict)


def _summary(
    rows: list[tuple[Dimension, int, Measure, float | None, list[str]]], *, strict: bool
) -> None:
    slowest = max(rows, key=lambda row: row[2].cpu if row[2].cpu == row[2].cpu else 1e9)
    largest = max(rows, key=lambda row: row[2].rss_mb)
    grown = max(rows, key=lambda row: row[2].grown_mb)
    steepest = max(rows, key=lambda row: row[3] or 0.0)
    longest = max(rows, key=lambda row: row[2].wall if row[0].wall_max is not None else 0.0)
    print()
    print(f"worst cpu:    {slowest[2].cpu:.3f} s  ({slowest[0].name}, n = {slowest[1]})")
    print(f"worst rss:    {largest[2].rss_mb:.1f} MB  ({largest[0].name}, n = {largest[1]})")
    print(f"worst growth: {grown[2].grown_mb:.1f} MB  ({grown[0].name}, n = {grown[1]})")
    print(f"worst ratio:  {steepest[3] or 0.0:.2f}  ({steepest[0].name}, n = {steepest[1]})")
    if longest[0].wall_max is not None:
        print(f"worst stall:  {longest[2].wall:.1f} s open  ({longest[0].name})")
    missed = [row for row in rows if row[4]]
    if missed:
        print(f"{len(missed)} measurements missed a target")
        if strict:
            raise SystemExit(1)
    else:
        print("every measurement within the targets")


if __name__ == "__main__":
    main()
