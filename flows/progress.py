"""Progress of a run, for whoever follows it in the same process (the CLI's progress bar).

The flows report events here; with no listener (a deployment, a test) reporting costs nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

Listener = Callable[[str, dict[str, Any]], None]
_listeners: list[Listener] = []


def report(event: str, **data: Any) -> None:
    """Tell every listener of this process about an event ("planned", "unit_done")."""
    for listener in list(_listeners):
        listener(event, data)


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Call `listener(event, data)` for every event reported while the block runs."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)
