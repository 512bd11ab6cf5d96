"""Build small real WARC/WET archives with warcio's writer, for the archive tests and benchmarks."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from .conftest import EVAL_DEV, SEEDS

WARC_DATE = "2025-02-14T10:20:30Z"


@dataclass
class ArchiveSpec:
    """What an archive holds, so tests can check every record's fate."""

    documents: list[str] = field(default_factory=list)  # target URIs expected to become documents
    duplicates: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


def dev_html_pages(n: int) -> list[bytes]:
    pages = sorted(EVAL_DEV.glob("*.html"))[:n]
    assert len(pages) == n, f"need {n} HTML pages in {EVAL_DEV}"
    return [p.read_bytes() for p in pages]


def chunked(body: bytes, size: int = 700) -> bytes:
    """HTTP/1.1 chunked transfer encoding of a body."""
    out = io.BytesIO()
    for i in range(0, len(body), size):
        piece = body[i : i + size]
        out.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    out.write(b"0\r\n\r\n")
    return out.getvalue()


def _response(writer: WARCWriter, uri: str, body: bytes, status: str = "200 OK",
              headers: list[tuple[str, str]] | None = None) -> None:
    http = StatusAndHeaders(status, headers or [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
    record = writer.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=http,
                                       warc_headers_dict={"WARC-Date": WARC_DATE})
    writer.write_record(record)


def write_mixed_warc(path: Path, gzip_records: bool = True) -> ArchiveSpec:
    """A WARC with every kind of record a crawl holds, and the fate each should meet."""
    spec = ArchiveSpec()
    pages = dev_html_pages(3)
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=gzip_records)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "boilerstrip-tests"}))
        spec.skipped["record:warcinfo"] = 1
        # A plain HTML response, and its request record.
        request = writer.create_warc_record("https://example.org/a", "request", payload=io.BytesIO(
            b"GET /a HTTP/1.1\r\nHost: example.org\r\n\r\n"), warc_headers_dict={"WARC-Date": WARC_DATE})
        writer.write_record(request)
        spec.skipped["record:request"] = 1
        _response(writer, "https://example.org/a", pages[0])
        spec.documents.append("https://example.org/a")
        # Gzip content-encoding and chunked transfer-encoding: the payload must be decoded.
        _response(writer, "https://example.org/b", chunked(gzip.compress(pages[1])), headers=[
            ("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"),
            ("Transfer-Encoding", "chunked")])
        spec.documents.append("https://example.org/b")
        # The same page again under another URL: a duplicate.
        _response(writer, "https://mirror.example.org/a", pages[0])
        spec.duplicates.append("https://mirror.example.org/a")
        _response(writer, "https://example.org/c", pages[2], headers=[("Content-Type", "text/html")])
        spec.documents.append("https://example.org/c")
        # A resource record of plain text (e.g. a crawler storing a text file): the text path.
        writer.write_record(writer.create_warc_record(
            "https://example.org/notes.txt", "resource", payload=io.BytesIO((SEEDS / "002_90f80dc9d46dd7ba.txt")
                                                                          .read_bytes()),
            warc_content_type="text/plain", warc_headers_dict={"WARC-Date": WARC_DATE}))
        spec.documents.append("https://example.org/notes.txt")
        # Not captures: a 404, an image, a PDF, a metadata record, a revisit.
        _response(writer, "https://example.org/missing", b"<html>Not found</html>", status="404 Not Found")
        spec.skipped["http_status:404"] = 1
        _response(writer, "https://example.org/logo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
                  headers=[("Content-Type", "image/png")])
        spec.skipped["media_type:image/png"] = 1
        _response(writer, "https://example.org/report.pdf", b"%PDF-1.4\n%%EOF\n",
                  headers=[("Content-Type", "application/pdf")])
        spec.skipped["media_type:application/pdf"] = 1
        writer.write_record(writer.create_warc_record("https://example.org/a", "metadata", payload=io.BytesIO(
            b"outlinks: https://example.org/b\n"), warc_content_type="application/warc-fields"))
        spec.skipped["record:metadata"] = 1
        writer.write_record(writer.create_revisit_record(
            "https://example.org/a", digest="sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            refers_to_uri="https://example.org/a", refers_to_date=WARC_DATE))
        spec.skipped["record:revisit"] = 1
    return spec


def write_wet(path: Path, texts: list[tuple[str, bytes]] | None = None) -> list[str]:
    """A gzipped WET file of conversion records (Common Crawl's text extracts): the seed captures."""
    texts = texts or [(f"https://seed.example/{p.stem}", p.read_bytes()) for p in sorted(SEEDS.glob("*.txt"))]
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "boilerstrip-tests"}))
        for uri, text in texts:
            writer.write_record(writer.create_warc_record(uri, "conversion", payload=io.BytesIO(text),
                                                          warc_content_type="text/plain",
                                                          warc_headers_dict={"WARC-Date": WARC_DATE}))
    return [uri for uri, _ in texts]


def write_html_warc(path: Path, bodies: list[bytes], start: int = 0, gzip_records: bool = True) -> list[str]:
    """A WARC of HTML responses only (distinct URIs), for the larger tests and benchmarks."""
    uris = []
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=gzip_records)
        for i, body in enumerate(bodies, start):
            uri = f"https://bench.example/{i}"
            _response(writer, uri, body)
            uris.append(uri)
    return uris
