"""Clean captures in a child process with a wall-clock budget, so one that hangs or crashes costs only itself.

HTML extraction (trafilatura, lxml) can hang or die on hostile markup, and trafilatura's own timeout
only works in its command line. Each capture is cleaned by a worker process (pebble's pool): past
`capture_timeout_seconds` the worker is killed and replaced and the capture becomes a `timeout`
reject; a worker that dies (segfault, out of memory) makes it a `worker_crashed` reject. A process
that may not start children (a Dask worker) cleans in itself, watched by flows/watchdog.py. The
cleaning itself stays the pure code of `cleaners`; only the process machinery lives here.
"""

from __future__ import annotations

import atexit
import itertools
import json
import mmap
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pebble import ProcessExpired, ProcessFuture, ProcessPool

from cleaners import CleanResult, Config, Pipeline, Rejection
from cleaners.pipeline import SiteContext
from cleaners.site_repeated import SiteLearner, restate_evidence
from flows.watchdog import HEARTBEAT_BYTES, RECORD_BYTES, SLOT_BYTES, SLOT_HEADER, SLOTS, heartbeat_record

# Workers fork from a server that has already imported the cleaners (trafilatura, lxml, the rule
# sets), so starting or replacing one costs milliseconds, and never forks the flow's threads.
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["cleaners.pipeline"])

# In a worker: one pipeline per config, built on first use and kept for the worker's life.
_PIPELINES: dict[str, Pipeline] = {}

# Captures travel to the worker in batches: a round trip (two pipe messages, pickling, waking both
# processes) costs about a millisecond plus a cold cache, a sizeable share of cleaning a text page.
BATCH_CAPTURES = 16
BATCH_BYTES = 2 * 2**20

WARM_UP_TEXT = "The council met on Tuesday. Members voted on the budget after a long debate.\n\nShare this article"


@dataclass(frozen=True)
class SiteLines:
    """A site's known lines as sent to a worker: the whole table first (seq 0), then only what changed.

    A site's table grows with its captures; sending it whole with each capture would make a run
    quadratic in the site's size. The worker keeps the table of each site it was sent, so each
    capture carries only the counts that changed since the site's previous capture.
    """

    site: str
    stream: str  # the worker generation the sequence belongs to (a replaced worker starts a new one)
    seq: int
    lines: dict[int, int]


@dataclass(frozen=True)
class CleanRequest:
    """One capture to clean: its bytes, how to read them, and its site (None: no site table)."""

    data: bytes
    content_kind: str = "text"
    charset: str | None = None
    url: str | None = None
    site: str | None = None
    sha256: str | None = None  # names the capture in a unit's fault log (see flows/watchdog.py)


class StaleSiteTable(Exception):
    """A worker was sent changes to a site table it does not hold (the sender must send it whole)."""


# In a worker: each site's table, with the stream and the sequence number it was last updated to.
_SITE_TABLES: dict[str, tuple[str, int, dict[int, int]]] = {}
_CURRENT_STREAM = ""  # the stream whose tables `_SITE_TABLES` holds


def _site_context(lines: SiteLines) -> SiteContext:
    global _CURRENT_STREAM
    if lines.seq == 0:
        if lines.stream != _CURRENT_STREAM:
            # A new sender (a unit reusing this worker): the old streams' tables are dead weight.
            _SITE_TABLES.clear()
            _CURRENT_STREAM = lines.stream
        table = dict(lines.lines)
    else:
        held = _SITE_TABLES.get(lines.site)
        if held is None or held[:2] != (lines.stream, lines.seq - 1):
            raise StaleSiteTable(lines.site)
        table = held[2]
        table.update(lines.lines)
    _SITE_TABLES[lines.site] = (lines.stream, lines.seq, table)
    return SiteContext(lines.site, table)


CleanTarget = Callable[[str, bytes, str, "str | None", "str | None", "SiteContext | SiteLines | None"],
                       "CleanResult | Rejection"]


def _pipeline(config_json: str) -> Pipeline:
    pipeline = _PIPELINES.get(config_json)
    if pipeline is None:
        pipeline = _PIPELINES[config_json] = Pipeline(Config.from_dict(json.loads(config_json)))
    return pipeline


# (config, content kind) pairs whose lazily loaded models this process has loaded.
_WARM: set[tuple[str, str]] = set()
WARM_UP_PAGES = {"text": WARM_UP_TEXT, "html": f"<html><body><article><p>{WARM_UP_TEXT}</p></article></body></html>"}


def warm_for(config_json: str, content_kind: str) -> None:
    """Load what cleaning `content_kind` loads lazily (once per process), so that no capture's budget pays for it."""
    page = WARM_UP_PAGES.get(content_kind)
    if page is not None and (config_json, content_kind) not in _WARM:
        _pipeline(config_json).clean_bytes(page.encode("utf-8"), content_kind)
        _WARM.add((config_json, content_kind))


def warm_worker(config_json: str) -> None:
    """Build the pipeline and its lazily loaded models when a worker starts, outside any capture's budget."""
    for content_kind in WARM_UP_PAGES:
        warm_for(config_json, content_kind)


def clean_in_worker(config_json: str, data: bytes, content_kind: str, charset: str | None,
                    url: str | None, site: SiteContext | SiteLines | None = None) -> CleanResult | Rejection:
    """Clean one capture's bytes with the pipeline of this config (runs in the worker process)."""
    pipeline = _pipeline(config_json)
    if isinstance(site, SiteLines):
        site = _site_context(site)  # outside the try: a stale table is the sender's to fix, not a reject
    try:
        return pipeline.clean_bytes(data, content_kind, charset, url, site)
    except Exception as err:  # a cleaner bug on one capture is that capture's reject, not the worker's death
        return Rejection("cleaner_error", traceback.format_exception_only(err)[-1].strip())


# Faults of one capture after which it is rejected as worker_crashed: one may be an innocent's.
DEATHS_TO_REJECT = 2


class Watchdog:
    """This process's watchdog (flows/watchdog.py): a child process that kills it when a watched capture overruns.

    For processes that may not start a cleaning child (Dask's daemonic workers): they clean in
    their own threads, and each thread's capture, start and budget are written to memory the
    watchdog reads (about 4 µs a capture)."""

    def __init__(self) -> None:
        fd, path = tempfile.mkstemp(prefix="boilerstrip-heartbeat-")
        try:
            os.unlink(path)  # the mapping and the watchdog's inherited descriptor keep it alive, nameless
            os.ftruncate(fd, HEARTBEAT_BYTES)
            self._shared = mmap.mmap(fd, HEARTBEAT_BYTES)
            # The package's parent on the path: the watchdog runs without site-packages (-S) and the
            # worker's working directory may be anywhere.
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(
                [str(Path(__file__).resolve().parent.parent), *filter(None, [os.environ.get("PYTHONPATH")])])}
            self.process = subprocess.Popen(
                [sys.executable, "-S", "-m", "flows.watchdog", str(fd), str(os.getpid())],
                stdin=subprocess.PIPE, pass_fds=(fd,), env=env, close_fds=True)
        finally:
            os.close(fd)
        self._lock = threading.Lock()
        self._next_slot = 0
        self._local = threading.local()

    def alive(self) -> bool:
        """Whether the watchdog process still runs."""
        return self.process.poll() is None

    def _slot(self) -> int | None:
        slot: int | None = getattr(self._local, "slot", None)
        if slot is None:
            with self._lock:
                if self._next_slot >= SLOTS:
                    return None  # more cleaning threads than slots: the rest go unwatched
                slot = self._local.slot = self._next_slot
                self._next_slot += 1
        return slot

    @contextmanager
    def watching(self, fault_log: str, capture_sha256: str, budget: float) -> Iterator[None]:
        """Hold the body to `budget` seconds: past it the watchdog logs a `timeout` fault and kills this process."""
        record = heartbeat_record(fault_log, capture_sha256)
        slot = self._slot()
        if slot is None or len(record) > RECORD_BYTES:
            yield
            return
        self._write(slot, time.monotonic(), budget, record)
        try:
            yield
        finally:
            self._write(slot, 0.0, 0.0, b"")

    def _write(self, slot: int, started: float, budget: float, record: bytes) -> None:
        base = slot * SLOT_BYTES
        seq = SLOT_HEADER.unpack_from(self._shared, base)[0]
        SLOT_HEADER.pack_into(self._shared, base, seq + 1, started, budget, len(record))  # odd: being written
        if record:
            self._shared[base + SLOT_HEADER.size : base + SLOT_HEADER.size + len(record)] = record
        SLOT_HEADER.pack_into(self._shared, base, seq + 2, started, budget, len(record))

    def close(self) -> None:
        """Stop the watchdog (it exits when its stdin closes) and release the heartbeat."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()
        self._shared.close()


_WATCHDOG: Watchdog | None = None
_WATCHDOG_LOCK = threading.Lock()


def process_watchdog() -> Watchdog:
    """This process's watchdog, started on first use (and again if it was killed)."""
    global _WATCHDOG
    with _WATCHDOG_LOCK:
        if _WATCHDOG is None or not _WATCHDOG.alive():
            _WATCHDOG = Watchdog()
        return _WATCHDOG


def read_faults(fault_log: str) -> dict[str, list[str]]:
    """A unit's fault log: capture sha256 → its faults in order ("timeout", "died"); {} when there is none."""
    faults: dict[str, list[str]] = {}
    with suppress(FileNotFoundError), open(fault_log, encoding="utf-8") as fh:
        for line in fh:
            try:
                fault = json.loads(line)
            except ValueError:  # a line cut short by a crash of the machine: that fault was never whole
                continue
            faults.setdefault(fault["capture_sha256"], []).append(fault["fault"])
    return faults


T = TypeVar("T")


@dataclass
class _SentBatch:
    """A batch on its way: its requests, the sites' joins watched since it was sent, its future (None: not sent)."""

    requests: Sequence[CleanRequest]
    joins: dict[str, set[int]]
    future: ProcessFuture[list[CleanResult | Rejection]] | None


WorkerItem = tuple[bytes, str, "str | None", "str | None", "SiteLines | None"]


def clean_batch_in_worker(target: CleanTarget, config_json: str, items: list[WorkerItem]
                          ) -> list[CleanResult | Rejection]:
    """Clean a batch of captures in order with `target` (runs in the worker process)."""
    return [target(config_json, *item) for item in items]


class IsolatedCleaner:
    """Cleans captures in a worker process, abandoning any that exceeds the time budget.

    With `capture_timeout_seconds = 0`, or where no child process can be started (inside a daemonic
    process), captures are cleaned in this process instead and `isolated` is False. In a daemonic
    process (a Dask worker) the budget still holds for the captures of a unit with a fault log
    (`watch_unit`): the process's watchdog kills it when a capture overruns (see flows/watchdog.py).
    """

    def __init__(self, config: Config, target: CleanTarget = clean_in_worker) -> None:
        self.config = config
        self.config_json = config.to_json()
        self.timeout = float(config.capture_timeout_seconds)
        self.target = target
        _pipeline(self.config_json)  # a bad config fails here, in the run, not in every worker
        self._pool: ProcessPool | None = None
        self.isolated = self.timeout > 0 and not multiprocessing.current_process().daemon
        self.watched = self.timeout > 0 and not self.isolated
        self.fault_log: str | None = None
        self.condemned: dict[str, Rejection] = {}  # sha256 → its reject, from earlier attempts' faults
        self.timeouts = 0
        self.crashes = 0
        self.batch_retries = 0  # batches cleaned again one by one (out of time, or their worker died)
        self.recleaned = 0  # captures of a batch cleaned again because their site's table gained their lines
        self.forget_sent_tables()

    def forget_sent_tables(self) -> None:
        """Forget what was sent to the worker (a replaced one holds no site table): tables go whole next."""
        self._stream = uuid.uuid4().hex
        self._site_seq: dict[str, int] = {}

    def watch_unit(self, fault_log: str | None) -> None:
        """Log budget faults to `fault_log` (None: none) and reject the captures its earlier faults condemn.

        A timeout there is final (the capture stalled a worker once already); a capture the worker
        died on is rejected only after DEATHS_TO_REJECT deaths, since one may be an innocent's."""
        self.fault_log = fault_log
        self.condemned = {}
        for sha, faults in (read_faults(fault_log) if fault_log else {}).items():
            if "timeout" in faults:
                self.condemned[sha] = Rejection(
                    "timeout", f"cleaning took longer than capture_timeout_seconds={self.timeout:g}; its worker "
                    "process was killed by its watchdog and the unit run again")
            elif faults.count("died") >= DEATHS_TO_REJECT:
                self.condemned[sha] = Rejection(
                    "worker_crashed", f"the worker process died {faults.count('died')} times while cleaning it")

    def _site_lines(self, site: str, sites: SiteLearner) -> SiteLines:
        seq = self._site_seq.get(site, -1) + 1
        self._site_seq[site] = seq
        lines = sites.take_table(site) if seq == 0 else sites.take_changes(site)
        return SiteLines(site, self._stream, seq, lines)

    def __enter__(self) -> IsolatedCleaner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def clean(self, data: bytes, content_kind: str = "text", charset: str | None = None,
              url: str | None = None, site: str | None = None,
              sites: SiteLearner | None = None, sha256: str | None = None) -> CleanResult | Rejection:
        """Clean one capture within the budget: its result, or why it was rejected.

        `site`, `sites`: the capture's site and what the run knows of the lines it repeats;
        `sha256`: its content hash, which names it in the unit's fault log."""
        condemned = self.condemned.get(sha256) if sha256 else None
        if condemned is not None:
            return condemned
        if not self.isolated:
            context = SiteContext(site, sites.known_lines(site)) if site and sites else None
            if self.watched and self.fault_log and sha256:
                # The models load outside the budget, as in a fresh worker process; only the kinds
                # this process cleans (the HTML path's models are about 50 MB a worker).
                warm_for(self.config_json, content_kind)
                with process_watchdog().watching(self.fault_log, sha256, self.timeout):
                    return self.target(self.config_json, data, content_kind, charset, url, context)
            return self.target(self.config_json, data, content_kind, charset, url, context)
        request = CleanRequest(data, content_kind, charset, url, site)
        try:
            try:
                return self._schedule_batch([request], sites).result()[0]
            except StaleSiteTable:  # the worker lost a table it was sent: send the site's tables whole
                self.forget_sent_tables()
                return self._schedule_batch([request], sites).result()[0]
        except FutureTimeout:
            self.timeouts += 1
            self.forget_sent_tables()
            return Rejection("timeout", f"cleaning took longer than capture_timeout_seconds={self.timeout:g}; "
                             "its worker process was killed")
        except ProcessExpired as err:
            self.crashes += 1
            self.forget_sent_tables()
            return Rejection("worker_crashed", f"the cleaning process died (exit code {err.exitcode})")
        except BrokenProcessPool as err:  # the worker could not start or the pool died: start afresh next time
            self.crashes += 1
            self.close()
            return Rejection("worker_crashed", f"the cleaning process pool broke: {err}")

    def clean_batches(self, batches: Iterable[tuple[T, Sequence[CleanRequest]]], sites: SiteLearner | None = None
                      ) -> Iterator[tuple[T, Iterator[CleanResult | Rejection]]]:
        """For each (tag, requests) batch: the tag and its outcomes, in order, as `clean` gives them one by one.

        Each batch is one worker round trip, and the next batch is read and sent before this one's
        outcomes are handed over, so the worker cleans it while the caller records these: the
        caller's reading and writing cost no cleaning time. The caller learns each outcome into
        `sites` before taking the next, as between `clean` calls. A batch is cleaned against the
        site tables as they stood when it was sent. An outcome whose page carries a key that joined
        its site's table since then is cleaned again; any other removed the same lines, so it is
        kept, its evidence flag restated with the newer counts. A batch gets one capture's time
        budget: if that runs out or the worker dies, its captures are cleaned again one by one,
        each with its own budget, so only a capture that is slow or deadly on its own is rejected.
        """
        queue: deque[tuple[T, _SentBatch]] = deque()
        upcoming = iter(batches)

        def send_next() -> None:
            for tag, requests in itertools.islice(upcoming, 1):
                queue.append((tag, self._send(requests, sites)))

        try:
            send_next()
            while queue:
                tag, sent = queue[0]
                send_next()  # read and send the next batch while the worker cleans this one
                outcomes = self._receive(sent, sites)
                yield tag, outcomes
                for _ in outcomes:  # whatever the caller left: the next batch's checks assume these were seen
                    pass
                self._unwatch(sent, sites)
                queue.popleft()
        finally:
            for _, sent in queue:
                self._unwatch(sent, sites)

    def _send(self, requests: Sequence[CleanRequest], sites: SiteLearner | None) -> _SentBatch:
        """Start a batch on the worker (when there is one), watching its sites' tables from now on."""
        if not self.isolated or not requests or self._holds_condemned(requests):
            return _SentBatch(requests, {}, None)  # cleaned one by one as they are taken
        joins = {site: sites.watch_joins(site) for site in {r.site for r in requests if r.site}} if sites else {}
        sent = _SentBatch(requests, joins, None)
        try:
            sent.future = self._schedule_batch(requests, sites)
        except BrokenProcessPool:
            self.close()
        except Exception:  # not sent: one by one says which capture is at fault
            self.forget_sent_tables()
        return sent

    def _holds_condemned(self, requests: Sequence[CleanRequest]) -> bool:
        return bool(self.condemned) and any(r.sha256 in self.condemned for r in requests)

    def _unwatch(self, sent: _SentBatch, sites: SiteLearner | None) -> None:
        if sites is not None:
            for site, joins in sent.joins.items():
                sites.unwatch_joins(site, joins)
        sent.joins = {}

    def _receive(self, sent: _SentBatch, sites: SiteLearner | None) -> Iterator[CleanResult | Rejection]:
        """A sent batch's outcomes, checked against what was learned since it was sent (see `clean_batches`)."""
        results = self._wait(sent, sites) if self.isolated else None
        if results is None:
            if self.isolated and sent.requests and not self._holds_condemned(sent.requests):  # it failed as a whole
                self.batch_retries += 1
            for request in sent.requests:
                yield self._clean_one(request, sites)
            return
        for request, result in zip(sent.requests, results, strict=True):
            if request.site and sites is not None:
                joined = sent.joins[request.site]
                if joined and (isinstance(result, Rejection) or not joined.isdisjoint(result.line_keys)):
                    self.recleaned += 1
                    result = self._clean_one(request, sites)
                elif isinstance(result, CleanResult):
                    result = restate_evidence(result, request.site, sites.known_lines(request.site))
            yield result

    def _wait(self, sent: _SentBatch, sites: SiteLearner | None) -> list[CleanResult | Rejection] | None:
        """The batch's results, or None when it ran out of time, its worker died, or it failed as a whole."""
        try:
            if sent.future is None:
                return None
            try:
                results: list[CleanResult | Rejection] = sent.future.result()
            except StaleSiteTable:  # its worker was replaced after it was sent: send it again, tables whole
                self.forget_sent_tables()
                results = self._schedule_batch(sent.requests, sites).result()
            return results
        except (FutureTimeout, ProcessExpired):  # the worker was killed: one by one finds the culprit
            self.forget_sent_tables()
        except BrokenProcessPool:
            self.close()
        except Exception:  # e.g. a result that cannot be pickled: one by one says which capture
            self.forget_sent_tables()
        return None

    def _clean_one(self, request: CleanRequest, sites: SiteLearner | None) -> CleanResult | Rejection:
        try:
            return self.clean(request.data, request.content_kind, request.charset, request.url, request.site, sites,
                              request.sha256)
        except Exception as err:  # one bad capture must never stop the run
            return Rejection("cleaner_error", traceback.format_exception_only(err)[-1].strip())

    def _start_pool(self) -> None:
        if self._pool is None:
            self._pool = ProcessPool(max_workers=1, context=_CONTEXT, initializer=warm_worker,
                                     initargs=(self.config_json,))
            self.forget_sent_tables()

    def _schedule_batch(self, requests: Sequence[CleanRequest], sites: SiteLearner | None
                        ) -> ProcessFuture[list[CleanResult | Rejection]]:
        self._start_pool()
        assert self._pool is not None
        items: list[WorkerItem] = [
            (r.data, r.content_kind, r.charset, r.url, self._site_lines(r.site, sites) if r.site and sites else None)
            for r in requests
        ]
        return self._pool.schedule(clean_batch_in_worker, args=(self.target, self.config_json, items),
                                   timeout=self.timeout)

    def close(self) -> None:
        """Stop the worker process (if one was started)."""
        if self._pool is not None:
            self._pool.stop()
            self._pool.join()
            self._pool = None



# At most one idle cleaner per process, whose worker is warm: the next unit with the same config
# borrows it instead of starting a worker and loading the models again (about a second a unit).
_IDLE: dict[str, IsolatedCleaner] = {}
_IDLE_LOCK = threading.Lock()


@contextmanager
def borrowed_cleaner(config: Config, fault_log: str | None = None) -> Iterator[IsolatedCleaner]:
    """An isolated cleaner for `config`, the process's idle one if it has the same config; kept idle after.

    `fault_log`: the unit's fault log, where a watched cleaner logs its budget faults (`watch_unit`)."""
    config_json = config.to_json()
    with _IDLE_LOCK:
        cleaner = _IDLE.pop(config_json, None)
    if cleaner is None:
        cleaner = IsolatedCleaner(config)
    else:
        cleaner.forget_sent_tables()  # a new unit brings a new site learner: its tables are sent whole
    cleaner.watch_unit(fault_log)
    try:
        yield cleaner
    except BaseException:
        cleaner.close()
        raise
    finally:
        cleaner.watch_unit(None)
    with _IDLE_LOCK:
        stale = [_IDLE.pop(key) for key in list(_IDLE)]
        _IDLE[config_json] = cleaner
    for old in stale:
        old.close()


@atexit.register
def _close_idle() -> None:
    with _IDLE_LOCK:
        idle = [_IDLE.pop(key) for key in list(_IDLE)]
    for cleaner in idle:
        cleaner.close()
