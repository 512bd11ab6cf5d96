"""The bad-input corpus: every kind of broken or hostile capture meets its documented fate in one real run.

The corpus is generated here (a 100 MB capture, a 10 MB line and a gzip bomb are not worth storing),
ingested by the real flow, and read back from Parquet. The README's table of fates is checked
against `CORPUS`, so the documentation cannot drift from what the run does.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import re
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from flows.ingest import ingest_flow

from .archives import WARC_DATE
from .conftest import ROOT, SEEDS

ARTICLE = (SEEDS / "002_90f80dc9d46dd7ba.txt").read_bytes()
PROSE = "Les élèves ont visité le musée « Orsay » — un succès, dit-il. L’été dernier, la ville a voté.\n"
GERMAN = "Der Bürgermeister äußerte sich über die Straße in München, sagte er am Dienstag.\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"


def _pdf() -> bytes:
    stream = zlib.compress(b"BT /F1 12 Tf 72 712 Td (Hello, world) Tj ET" * 40)
    return (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length " + str(len(stream)).encode()
            + b" /Filter /FlateDecode >>\nstream\n" + stream + b"\nendstream\nendobj\ntrailer\n<< >>\n%%EOF\n")


def _gzip_bomb() -> bytes:
    """About 200 kB of gzip that inflates to 200 MB (zeros compress a thousandfold)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as gz:
        block = b"\0" * (1 << 20)
        for _ in range(200):
            gz.write(block)
    return out.getvalue()


def _bomb_warc(path: Path) -> None:
    """A WARC whose one HTML response is a gzip Content-Encoding bomb."""
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
                                protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record("https://bomb.example/", "response",
                                                      payload=io.BytesIO(_gzip_bomb()), http_headers=http,
                                                      warc_headers_dict={"WARC-Date": WARC_DATE}))


def _write(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _hundred_megabytes(path: Path) -> None:
    line = b"An ordinary sentence of an enormous page, repeated until it weighs a hundred megabytes.\n"
    with path.open("wb") as fh:
        for _ in range(100 * (1 << 20) // len(line) + 1):
            fh.write(line)


def _symlink_to(target_name: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        os.symlink(target_name, path)
    return make


def _outside_symlink(path: Path) -> None:
    secret = path.parent.parent / "outside" / "secret.txt"
    secret.parent.mkdir(exist_ok=True)
    secret.write_text("A file outside the source folder that must never be read.\n" * 5)
    os.symlink(secret, path)


@dataclass(frozen=True)
class Kind:
    """One kind of bad input: a file of the corpus and the fate it must meet."""

    kind: str  # as named in the README table
    name: str  # file name in the corpus folder
    make: Callable[[Path], None]
    fate: str  # document, duplicate, rejected:<reason>, not read
    flag: str | None = None  # a flag the document must carry


random.seed(6)
CORPUS: list[Kind] = [
    Kind("empty file", "empty.txt", _write(b""), "rejected:empty"),
    Kind("whitespace only", "whitespace.txt", _write(b" \n\t\r\n   \n"), "rejected:empty"),
    Kind("binary: PNG (named .html)", "image.html", _write(PNG), "rejected:binary"),
    Kind("binary: PDF", "report.txt", _write(_pdf()), "rejected:binary"),
    Kind("binary: NUL bytes", "nul.txt", _write(b"text\x00with\x00nul\x00bytes\n" * 20), "rejected:binary"),
    Kind("binary: mostly control characters", "controls.txt", _write(b"\x01\x02\x03\x04\x05 text " * 100),
         "rejected:binary"),
    Kind("invalid UTF-8, no encoding fits", "garbage.txt",
         _write(bytes(random.randrange(128, 256) for _ in range(3000))), "rejected:undecodable"),
    Kind("invalid UTF-8 in a UTF-8 text", "stray_bytes.txt",
         _write("The minister said the café was closed.\n".encode() * 3 + b"\xff\xfe broken \xc3\x28 here\n"),
         "document", "encoding_detected:cp1252"),
    Kind("cp1252 text", "cp1252.txt", _write(PROSE.encode("cp1252") * 3), "document", "encoding_detected:cp1252"),
    Kind("latin-1 text", "latin1.txt", _write(GERMAN.encode("latin-1") * 3), "document", "encoding_detected:cp1252"),
    Kind("double-encoded mojibake", "mojibake.txt",
         _write(PROSE.encode("utf-8").decode("cp1252").encode("utf-8") * 3), "document", "mojibake_repaired"),
    Kind("UTF-16 with BOM", "utf16.txt", _write(GERMAN.encode("utf-16") * 1), "document", "bom:utf-16"),
    Kind("100 MB capture", "huge.txt", _hundred_megabytes, "rejected:too_large"),
    Kind("a single 10 MB line", "long_line.txt", _write(b"word " * 2_000_000), "document"),
    Kind("gzip bomb (loose .gz)", "bomb.txt.gz", _write(_gzip_bomb()), "rejected:decompression_bomb"),
    Kind("gzip bomb (WARC Content-Encoding)", "bomb.warc.gz", _bomb_warc, "rejected:decompression_bomb"),
    Kind("truncated gzip", "truncated.txt.gz", _write(gzip.compress(ARTICLE)[:-40]), "rejected:bad_gzip"),
    Kind("HTML nested 100 000 levels deep", "deep.html",
         _write(b"<html><body>" + b"<div>" * 100_000 + b"deep text" + b"</div>" * 100_000 + b"</body></html>"),
         "document", "extractor_fallback"),
    Kind("HTML with no body text", "no_text.html",
         _write(b"<html><head><title>T</title><script>var x = 1;</script></head><body> <div></div> </body></html>"),
         "rejected:no_text"),
    Kind("regex backtracking: 100 000 repeated tokens on one line", "backtrack.txt",
         _write(b"Share this article " * 100_000 + b"\n" + ARTICLE), "document"),
    Kind("regex backtracking: many lines of repeated near-matches", "near_matches.txt",
         _write(b"\n".join([b"Read more: " * 450] * 200) + b"\n" + ARTICLE), "document"),
    Kind("control characters and bidi overrides", "bidi.txt",
         _write("Hello \u202eevil\u202c text with a \x07 bell and \x1b[31m escape.\nSecond line, \u2067isolate\u2069.\n"
                .encode() + ARTICLE), "document"),
    Kind("file name with spaces", "name with spaces.txt", _write(ARTICLE + b"\nSpaces."), "document"),
    Kind("file name in unicode", "unicodé ✓ 名前.txt", _write(ARTICLE + b"\nUnicode."), "document"),
    Kind("file name with `..` in it", "dots..in..name.txt", _write(ARTICLE + b"\nDots."), "document"),
    Kind("symlink inside the source", "link_to_cp1252.txt", _symlink_to("cp1252.txt"), "duplicate"),
    Kind("symlink pointing outside the source", "outside_link.txt", _outside_symlink, "not read"),
]


@pytest.fixture(scope="module")
def corpus_run(prefect_engine: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("corpus")
    src = root / "src"
    (src / "sub").mkdir(parents=True)
    for kind in CORPUS:
        kind.make(src / kind.name)
    out = root / "out"
    # The source is named through a `..` component, as a careless schedule might.
    summary = ingest_flow(str(src / "sub" / ".."), str(out), batch_size=8)
    (src / "huge.txt").unlink()  # 100 MB is not worth keeping for the other tests
    return src, out, summary


def _rows(out: Path) -> dict[str, list[tuple[str, str | None, list[str]]]]:
    """Rows of documents and rejects by source file name: (fate, reason, flags)."""
    con = duckdb.connect()
    rows: dict[str, list[tuple[str, str | None, list[str]]]] = {}
    for source, flags in con.sql(f"SELECT source, flags FROM read_parquet('{out}/documents/*.parquet')").fetchall():
        rows.setdefault(Path(source).name, []).append(("document", None, list(flags)))
    for source, reason in con.sql(f"SELECT source, reason FROM read_parquet('{out}/rejects/*.parquet')").fetchall():
        fate = "duplicate" if reason == "duplicate" else "rejected"
        rows.setdefault(Path(source).name, []).append((fate, None if fate == "duplicate" else reason, []))
    return rows


@pytest.mark.parametrize("kind", CORPUS, ids=[k.name for k in CORPUS])
def test_every_kind_meets_its_documented_fate(corpus_run: tuple[Path, Path, dict[str, Any]], kind: Kind) -> None:
    _, out, _ = corpus_run
    rows = _rows(out).get(kind.name, [])
    if kind.fate == "not read":
        assert rows == []
        return
    assert len(rows) == 1, f"{kind.kind}: {rows}"  # exactly one recorded fate, never lost nor doubled
    fate, reason, flags = rows[0]
    assert (fate if reason is None else f"{fate}:{reason}") == kind.fate, kind.kind
    if kind.flag:
        assert any(flag.startswith(kind.flag) for flag in flags), flags


def test_the_run_accounts_for_every_capture(corpus_run: tuple[Path, Path, dict[str, Any]]) -> None:
    _, out, summary = corpus_run
    read = [k for k in CORPUS if k.fate != "not read"]
    assert summary["balanced"] is True
    assert summary["captures_seen"] == len(read)
    assert summary["captures_seen"] == summary["documents"] + summary["rejected_total"] + summary["duplicates"]
    expected = Counter(k.fate.split(":", 1)[1] for k in read if k.fate.startswith("rejected:"))
    assert Counter(summary["rejected"]) == expected
    assert summary["documents"] == sum(k.fate == "document" for k in read)
    assert summary["ignored_files"] == {"(symlink out of the source)": 1}
    assert sum(len(v) for v in _rows(out).values()) == len(read)


def test_nothing_outside_the_source_is_read_and_output_names_come_from_hashes(
        corpus_run: tuple[Path, Path, dict[str, Any]]) -> None:
    src, out, _ = corpus_run
    con = duckdb.connect()
    texts = con.sql(f"SELECT text FROM read_parquet('{out}/documents/*.parquet')").fetchall()
    assert not any("must never be read" in text for (text,) in texts)
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    pattern = re.compile(r"(documents/part-[0-9a-f]{20}-\d+\.parquet|rejects/part-[0-9a-f]{20}\.parquet"
                         r"|_site_lines/part-[0-9a-f]{20}\.parquet|_manifest/[0-9a-f]{20}\.json"
                         r"|_locks/(?:commit|[0-9a-f]{8,32})\.lock)")
    assert names and all(pattern.fullmatch(name) for name in names), names
    assert sorted(p.name for p in src.parent.iterdir()) == ["out", "outside", "src"]  # nothing written elsewhere


def test_the_readme_table_gives_every_kind_its_fate() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| ([^|]+?) \| `[^`]+` \| ([^|]+?) \|", readme, flags=re.MULTILINE))
    for kind in CORPUS:
        assert kind.kind in table, f"README's bad-input table lacks {kind.kind!r}"
        assert table[kind.kind].startswith(kind.fate), (kind.kind, table[kind.kind])
