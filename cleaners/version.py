"""The cleaner's version: stamped into every row as `boilerstrip_version`."""

import hashlib
import io
import tokenize
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

__version__ = "0.1.0"


def _code_files(folder: Traversable, prefix: str = "") -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name != "__pycache__":
            files |= _code_files(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".py"):
            files[prefix + entry.name] = code_without_comments(entry.read_bytes())
    return files


def code_without_comments(source: bytes) -> bytes:
    """The source with its comments, trailing spaces and blank lines taken out: what the code does, not its notes.

    Comments are found by Python's tokenizer (a `#` inside a string is not one), so an edit that only touches
    comments or blank lines leaves the code digest, and so every row's `boilerstrip_version`, as it was.
    """
    try:
        comments = [token.start for token in tokenize.tokenize(io.BytesIO(source).readline)
                    if token.type == tokenize.COMMENT]
        lines = source.decode("utf-8").split("\n")
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):  # not Python we can read: hash it as it is
        return source
    for row, column in comments:  # a comment runs to the end of its line
        lines[row - 1] = lines[row - 1][:column]
    return "\n".join(line.rstrip() for line in lines if line.strip()).encode("utf-8")


def files_digest(files: dict[str, bytes]) -> str:
    """SHA-256 (hex) of named files' bytes, in name order: changes when any file's name or content changes."""
    digest = hashlib.sha256()
    for name, content in sorted(files.items()):
        digest.update(name.encode() + b"\0" + content + b"\0")
    return digest.hexdigest()


@cache
def cleaner_version() -> str:
    """`__version__` with a digest of the cleaners package's code as its local label ("0.1.0+code.3f9a…").

    The package version alone stays the same while the code that decides what is removed changes between
    releases; the digest makes two rows carry the same value only when the same cleaning code produced them
    (the rule files and the line model are hashed apart, into `rules_version`).
    """
    return f"{__version__}+code.{files_digest(_code_files(resources.files('cleaners')))[:12]}"
