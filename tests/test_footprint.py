"""What a process loads: text runs never import the HTML extractors, writing rows never pandas, a
backfill given a Prefect server never that server's modules.

Each of these imports costs every such process tens of MB (a backfill holds one per Dask worker), so
they are imported where needed only (cleaners/html.py, cleaners/stopwords.py, flows/dataset.py,
flows/backfill.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT, SEEDS

HTML_ONLY = ["trafilatura", "readability", "bs4", "lxml", "justext"]

PROGRAM = """
import json, sys
from datetime import UTC, datetime
from cleaners import Config, Pipeline
from flows.ingest import clean_unit, plan_units

out, seeds, html_only = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
pipeline = Pipeline(Config())
loaded = {}
text_results = [pipeline.clean_bytes(open(f, "rb").read(), "text") for f in sys.argv[4:]]
loaded["after_text"] = sorted(m for m in html_only if m in sys.modules)
run = {"ingested_at": datetime.now(UTC), "flow_run_id": None, "rules_version": "r", "config_hash": "h",
       "config_json": "{}", "config": {}, "rows_per_part": 100}
summary = None
for unit in plan_units([seeds], out, 100)["units"]:
    summary = clean_unit(unit, out, run)
loaded["documents"] = summary.documents
loaded["pandas_after_writing"] = "pandas" in sys.modules
page = b"<html><body><article><p>" + b"A sentence of the article body. " * 30 + b"</p></article></body></html>"
pipeline.clean_bytes(page, "html")
loaded["after_html"] = sorted(m for m in html_only if m in sys.modules)
print(json.dumps(loaded))
"""


def test_a_text_run_loads_no_html_extractor_and_writing_rows_imports_no_pandas(tmp_path: Path) -> None:
    seeds = sorted(SEEDS.glob("*.txt"))
    assert seeds
    result = subprocess.run([sys.executable, "-c", PROGRAM, str(tmp_path / "out"), str(SEEDS), json.dumps(HTML_ONLY),
                             *map(str, seeds)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["after_text"] == []
    assert loaded["documents"] == len(seeds)  # the rows were written (a commit, not a no-op)
    assert loaded["pandas_after_writing"] is False
    assert loaded["after_html"] == sorted(HTML_ONLY)  # an HTML capture loads them (trafilatura brings jusText)


SERVER_PROGRAM = """
import json, os, sys
from flows.backfill import api_for_workers

with api_for_workers() as url:
    print(json.dumps({"url": url, "worker_env": os.environ["PREFECT_API_URL"],
                      "server_modules": sorted(m for m in sys.modules if m.startswith("prefect.server"))}))
"""


def test_a_backfill_given_a_prefect_server_does_not_load_the_server_s_own_modules() -> None:
    # The run's own process sits beside the Dask workers all run long; Prefect's server modules
    # (FastAPI, SQLAlchemy…) added 77 MB to it when a server was given and never started here.
    url = "http://127.0.0.1:9/api"  # never contacted: handing the URL to the workers needs no request
    result = subprocess.run([sys.executable, "-c", SERVER_PROGRAM], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PREFECT_API_URL": url})
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["url"] == seen["worker_env"] == url
    assert seen["server_modules"] == []
