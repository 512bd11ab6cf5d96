"""A corpus generator: the dev page dumps multiplied into N unique captures, as loose files or WET archives.

    python3 -m uv run python -m bench.corpus DIR --captures 10000 [--per-archive 1000 | --loose]

Capture i is dev page i mod P with a paragraph of its own inserted in the body (words drawn from
that page, seeded by i) and a dateline naming i, so every capture has distinct bytes (a distinct
id) and text that varies, while cleaning costs what cleaning the dev pages costs.
"""

from __future__ import annotations

import argparse
import io
import random
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL_DEV = ROOT.parent / "shared" / "eval" / "dev"


def dev_pages() -> list[bytes]:
    """The page dumps of the labelled dev pages, in a stable order."""
    pages = [p.read_bytes() for p in sorted(EVAL_DEV.glob("*.page.txt"))]
    if not pages:
        raise FileNotFoundError(f"no *.page.txt under {EVAL_DEV}")
    return pages


def captures(n: int, pages: list[bytes] | None = None) -> Iterator[bytes]:
    """N unique captures made from the dev pages."""
    pages = pages or dev_pages()
    for i in range(n):
        page = pages[i % len(pages)]
        rng = random.Random(i)
        paragraphs = page.split(b"\n\n")
        words = page.split()[:400] or [b"word"]
        extra = b" ".join(rng.choice(words) for _ in range(rng.randint(12, 40))) + b"."
        middle = max(1, len(paragraphs) // 2)
        paragraphs.insert(middle, extra)
        paragraphs.insert(middle, f"Dispatch {i} ({rng.randrange(10**6):06d}).".encode())
        yield b"\n\n".join(paragraphs)


def write_loose(folder: Path, n: int) -> list[Path]:
    """N unique captures as .txt files in folder (100 per subfolder)."""
    paths = []
    for i, data in enumerate(captures(n)):
        path = folder / f"{i // 100:05d}" / f"capture-{i:07d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    return paths


def write_wet(folder: Path, n: int, per_archive: int) -> list[Path]:
    """N unique captures as WET conversion records, per_archive to a .wet.gz file."""
    from warcio.warcwriter import WARCWriter

    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    writer = None
    fh = None
    for i, data in enumerate(captures(n)):
        if i % per_archive == 0:
            if fh:
                fh.close()
            paths.append(folder / f"bench-{len(paths):05d}.wet.gz")
            fh = paths[-1].open("wb")
            writer = WARCWriter(fh, gzip=True)
        assert writer is not None
        writer.write_record(writer.create_warc_record(f"https://bench.example/{i}", "conversion",
                                                      payload=io.BytesIO(data), warc_content_type="text/plain"))
    if fh:
        fh.close()
    return paths


def main() -> None:
    """Write a corpus to DIR."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--captures", type=int, default=10000)
    parser.add_argument("--per-archive", type=int, default=1000)
    parser.add_argument("--loose", action="store_true", help="loose .txt files instead of WET archives")
    args = parser.parse_args()
    files = write_loose(args.dir, args.captures) if args.loose else write_wet(args.dir, args.captures,
                                                                              args.per_archive)
    print(f"{args.captures} captures in {len(files)} files under {args.dir}")


if __name__ == "__main__":
    main()
