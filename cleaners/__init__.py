"""boilerstrip cleaners: pure text logic (no Prefect, no I/O) from capture bytes to clean text + removals."""

from cleaners.model import CleanResult, Config, Decoded, Rejection, Removal
from cleaners.pipeline import PIPELINE, Pipeline, clean_text
from cleaners.render import rebuild
from cleaners.rules import rules_version
from cleaners.version import __version__, cleaner_version

__all__ = [
    "PIPELINE",
    "CleanResult",
    "Config",
    "Decoded",
    "Pipeline",
    "Rejection",
    "Removal",
    "__version__",
    "clean_text",
    "cleaner_version",
    "rebuild",
    "rules_version",
]
