"""Removes byline lines: reporting credits and reporter contact lines.

Every rule is data in `cleaners/rules/byline.toml`; this module only names the category.
"""

from __future__ import annotations

from cleaners.base import Cleaner


class BylineCleaner(Cleaner):
    """Reporting credits ('Additional reporting by …', '… contributed to this report') and contact lines."""

    category = "byline"
