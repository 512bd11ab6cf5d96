"""Removes byline lines: reporting credits, reporter contact lines and the article's metadata lines.

Every rule is data in `cleaners/rules/byline.toml`; this module only names the category.
"""

from __future__ import annotations

from cleaners.base import Cleaner


class BylineCleaner(Cleaner):
    """Reporting credits ('Additional reporting by …', '… contributed to this report'), contact lines and metadata
    lines ('Posted by …', 'Updated: 18 Nov 2019 9:38 pm', '5 min read', 'Tags: …')."""

    category = "byline"
