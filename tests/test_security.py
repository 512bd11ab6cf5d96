"""Nothing in a capture is ever fetched, run or turned into a path.

A real HTTP server on 127.0.0.1 counts every request; captures that reference it in every way a page
can (images, styles, frames, scripts, meta refresh, XML entities, XInclude, a bare URL, the WARC
target URI) go through the real flow, and the server must see no request at all.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from flows.cli import clean_file
from flows.ingest import ingest_flow

from .archives import WARC_DATE
from .conftest import SEEDS

ARTICLE = (SEEDS / "002_90f80dc9d46dd7ba.txt").read_text(encoding="utf-8")
PARAGRAPHS = "".join(f"<p>{line}</p>" for line in ARTICLE.splitlines() if line.strip())


class CountingServer:
    """An HTTP server that answers every request with a small page and remembers the paths asked for."""

    def __init__(self) -> None:
        hits: list[str] = []
        self.hits = hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                hits.append(self.path)
                body = b"<html><body><p>fetched</p></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture()
def server() -> Iterator[CountingServer]:
    counting = CountingServer()
    counting.thread.start()
    try:
        yield counting
    finally:
        counting.server.shutdown()
        counting.server.server_close()


def hostile_pages(url: str) -> dict[str, str]:
    """Pages that would make a fetching parser or browser call `url`."""
    return {
        "tags.html": f"""<html><head><link rel="stylesheet" href="{url}/style.css">
<script src="{url}/script.js"></script><base href="{url}/base/">
<style>@import url("{url}/import.css"); body {{ background: url({url}/bg.png) }}</style></head>
<body><article><h1>A page that points everywhere</h1>
<img src="{url}/img.png" srcset="{url}/img2x.png 2x"><iframe src="{url}/frame.html"></iframe>
<object data="{url}/object.swf"></object><embed src="{url}/embed.swf"><video src="{url}/v.mp4"></video>
{PARAGRAPHS}</article></body></html>""",
        "refresh.html": f"""<html><head><meta http-equiv="refresh" content="0; url={url}/refresh">
<link rel="canonical" href="{url}/canonical"><meta property="og:url" content="{url}/og"></head>
<body><article>{PARAGRAPHS}</article></body></html>""",
        "entity.html": f"""<?xml version="1.0"?>
<!DOCTYPE html [<!ENTITY remote SYSTEM "{url}/entity.xml"> <!ENTITY % param SYSTEM "{url}/param.dtd"> %param;]>
<html xmlns:xi="http://www.w3.org/2001/XInclude"><body><article><p>&remote;</p>
<xi:include href="{url}/xinclude.xml" parse="text"/>{PARAGRAPHS}</article></body></html>""",
        "bare_url.html": f"{url}/bare",
        "bare_url.txt": f"{url}/bare-text",
        "shell.txt": "$(touch pwned_dollar) `touch pwned_backtick` ; touch pwned_semicolon | rm -rf ../\n"
                     "../../../../tmp/escape ~/.ssh/id_rsa %s%s%n {0} ${HOME}\n" + ARTICLE,
    }


def test_no_capture_makes_any_request_and_nothing_runs_or_escapes(
        prefect_engine: str, tmp_path: Path, server: CountingServer) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name, page in hostile_pages(server.url).items():
        (src / name).write_text(page, encoding="utf-8")
    with (src / "crawl.warc.gz").open("wb") as fh:  # the archive's own target URI points at the server too
        writer = WARCWriter(fh, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        body = hostile_pages(server.url)["tags.html"].replace("everywhere", "everywhere, archived").encode()
        writer.write_record(writer.create_warc_record(f"{server.url}/warc-target", "response",
                                                      payload=io.BytesIO(body), http_headers=http,
                                                      warc_headers_dict={"WARC-Date": WARC_DATE}))
    out = tmp_path / "out"
    summary = ingest_flow(str(src), str(out))
    for name in ("tags.html", "refresh.html", "entity.html", "shell.txt"):
        clean_file(src / name)  # the one-capture path too
    assert server.hits == []
    assert summary["balanced"] is True and summary["captures_seen"] == 7
    con = duckdb.connect()
    texts = [t for (t,) in con.sql(f"SELECT text FROM read_parquet('{out}/documents/*.parquet')").fetchall()]
    assert not any("fetched" in text.split() for text in texts)  # the server's page never became text
    # Capture content never became a command or a path.
    assert not list(tmp_path.rglob("pwned*")) and not list(Path.cwd().glob("pwned*"))
    assert not Path("/tmp/escape").exists()
    output_folders = {"documents", "rejects", "_manifest", "_site_lines", "_locks"}
    assert {p.parent.name for p in out.rglob("*") if p.is_file()} <= output_folders


def test_the_counting_server_does_count(server: CountingServer) -> None:
    # The check above means something only if a request would have been seen.
    import urllib.request

    with urllib.request.urlopen(f"{server.url}/probe", timeout=10) as response:
        assert response.status == 200
    assert server.hits == ["/probe"]
