"""The time budget where no cleaning child can be started: a watchdog process kills the worker instead.

A daemonic process (every Dask worker) may not start multiprocessing children, so it cleans each
capture in its own thread, where nothing can interrupt a stuck extraction (a regex or lxml call
holding the GIL cannot even be interrupted by another thread of the same process). Its watchdog is a
small separate process (`subprocess`, standard library only, about 10 MB RSS) that reads the worker's
heartbeat from shared memory: for each thread, the capture it is cleaning, since when, and its budget.

- A capture past its budget: the watchdog appends a `timeout` fault to the unit's fault log, then
  kills the worker (SIGKILL). Dask runs the unit again on a fresh worker, which rejects that capture
  from the log instead of cleaning it again.
- The worker dying on its own while cleaning (segfault, out of memory, killed by its nanny): the
  watchdog appends a `died` fault for each capture in flight. One such fault may be an innocent's
  (a cluster shut down mid-unit), so a capture is rejected as `worker_crashed` only after two.

This module is the watchdog process (`python -S -m flows.watchdog`) and the heartbeat's layout; the
worker's side is `flows.isolation.Watchdog`. It imports only a few modules of the standard library,
so the watchdog starts in milliseconds and holds no model memory.
"""

from __future__ import annotations

import mmap
import os
import select
import signal
import struct
import sys
import time
from collections.abc import Iterator

# The heartbeat: one slot per cleaning thread. A slot is a header (sequence number, start of the
# capture on the monotonic clock, its budget in seconds, record length) and the record: the fault
# log's path, a NUL, and the capture's sha256. An odd sequence number means the slot is being written
# (a seqlock: the watchdog rereads until it sees the same even number before and after).
SLOT_HEADER = struct.Struct("<QddI")
SLOT_BYTES = 4096
SLOTS = 64
HEARTBEAT_BYTES = SLOT_BYTES * SLOTS
RECORD_BYTES = SLOT_BYTES - SLOT_HEADER.size
# How often the watchdog looks: the budget is enforced to within this, and waking five times a second
# costs the watchdog about 0.13 % of a core (0.04 s of CPU over 30 s, measured with psutil).
POLL_SECONDS = 0.2


def heartbeat_record(fault_log: str, capture_sha256: str) -> bytes:
    """A slot's record: where to log the capture's fault, and the capture (a hex sha256)."""
    return os.fsencode(fault_log) + b"\0" + capture_sha256.encode("ascii")


def _busy_slots(shared: mmap.mmap) -> Iterator[tuple[float, float, bytes]]:
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
            yield started, budget, record


def _log_fault(record: bytes, fault: str, budget: float) -> None:
    """Append one fault line (JSON, written by hand: json would double this process's imports)."""
    log, _, sha = record.partition(b"\0")
    if not sha.isalnum():  # a record torn by the worker's death: there is no capture to name
        return
    os.makedirs(os.path.dirname(log), exist_ok=True)
    line = b'{"capture_sha256": "%s", "fault": "%s", "budget_seconds": %r}\n' % (sha, fault.encode(), budget)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
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
