"""The time budget where no cleaning child can be started: a watchdog process kills the worker instead.

A daemonic process (every Dask worker) may not start multiprocessing children, so it cleans each
capture in its own thread, where nothing can interrupt a stuck extraction (a regex or lxml call
holding the GIL cannot even be interrupted by another thread of the same process). Its watchdog is a
small separate process (`subprocess`, standard library only, a few MB) that reads the worker's
heartbeat from shared memory: for each thread, the capture it is cleaning, since when, and its budget.

- A capture past its budget: the watchdog appends a `timeout` fault to the unit's fault log, then
  kills the worker (SIGKILL). Dask runs the unit again on a fresh worker, which rejects that capture
  from the log instead of cleaning it again.
- The worker dying on its own while cleaning (segfault, out of memory, killed by its nanny): the
  watchdog appends a `died` fault for each capture in flight. One such fault may be an innocent's
  (a cluster shut down mid-unit), so a capture is rejected as `worker_crashed` only after two.

This module runs in both processes: the worker writes its heartbeat through `Watchdog`, and
`python -m flows.watchdog` is the watchdog. It imports nothing outside the standard library, so the
watchdog starts in milliseconds and costs no model memory.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

# The heartbeat: one slot per cleaning thread. A slot is a header (sequence number, start of the
# capture on the monotonic clock, its budget in seconds, record length) and the record: where to log a
# fault and which capture it is. An odd sequence number means the slot is being written (a seqlock:
# the watchdog rereads until it sees the same even number before and after).
SLOT_HEADER = struct.Struct("<QddI")
SLOT_BYTES = 4096
SLOTS = 64
HEARTBEAT_BYTES = SLOT_BYTES * SLOTS
RECORD_BYTES = SLOT_BYTES - SLOT_HEADER.size
# How often the watchdog looks: the budget is enforced to within this, and waking five times a second
# costs the watchdog well under 0.1 % of a core.
POLL_SECONDS = 0.2
# Faults of one capture after which it is rejected as worker_crashed: one may be an innocent's.
DEATHS_TO_REJECT = 2


class Watchdog:
    """The watchdog of this process: a child process that kills it when a watched capture overruns its budget."""

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

    @contextlib.contextmanager
    def watching(self, fault_log: str, capture_sha256: str, budget: float) -> Iterator[None]:
        """Hold the body to `budget` seconds: past it the watchdog logs a `timeout` fault and kills this process."""
        record = json.dumps({"log": fault_log, "capture_sha256": capture_sha256}).encode("utf-8")
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
        SLOT_HEADER.pack_into(self._shared, base, seq + 1, started, budget, len(record))
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
    with contextlib.suppress(FileNotFoundError), open(fault_log, encoding="utf-8") as fh:
        for line in fh:
            try:
                fault = json.loads(line)
            except ValueError:  # a line cut short by a crash of the machine: that fault was never whole
                continue
            faults.setdefault(fault["capture_sha256"], []).append(fault["fault"])
    return faults


# --- the watchdog process ---------------------------------------------------------------------


def _busy_slots(shared: mmap.mmap) -> Iterator[tuple[float, float, dict[str, str]]]:
    """(started, budget, record) of every slot whose thread is cleaning a capture."""
    for slot in range(SLOTS):
        base = slot * SLOT_BYTES
        for _ in range(100):  # a slot being written is reread; the worker writes one in microseconds
            seq, started, budget, length = SLOT_HEADER.unpack_from(shared, base)
            record = shared[base + SLOT_HEADER.size : base + SLOT_HEADER.size + length] if started else b""
            if seq % 2 == 0 and SLOT_HEADER.unpack_from(shared, base)[0] == seq:
                break
        else:
            continue
        if started:
            yield started, budget, json.loads(record)


def _log_fault(record: dict[str, str], fault: str, budget: float) -> None:
    os.makedirs(os.path.dirname(record["log"]), exist_ok=True)
    line = json.dumps({"capture_sha256": record["capture_sha256"], "fault": fault, "budget_seconds": budget})
    fd = os.open(record["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)  # durable before the kill: the retried unit must find it
    finally:
        os.close(fd)


def watch(heartbeat_fd: int, worker_pid: int) -> None:
    """Watch the worker's heartbeat until the worker is gone (stdin closed) or killed for an overrun."""
    shared = mmap.mmap(heartbeat_fd, HEARTBEAT_BYTES, prot=mmap.PROT_READ)
    stdin = sys.stdin.fileno()
    while True:
        readable, _, _ = select.select([stdin], [], [], POLL_SECONDS)
        if readable and not os.read(stdin, 4096):  # the worker is gone; what it was cleaning died with it
            for _, budget, record in _busy_slots(shared):
                _log_fault(record, "died", budget)
            return
        now = time.monotonic()
        overdue = [(budget, record) for started, budget, record in _busy_slots(shared) if now - started > budget]
        if overdue:
            for budget, record in overdue:
                _log_fault(record, "timeout", budget)
            os.kill(worker_pid, signal.SIGKILL)
            return


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in the terminal is the worker's to handle
    watch(int(sys.argv[1]), int(sys.argv[2]))
