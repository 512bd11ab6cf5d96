"""Removes footer lines: Copyright, legal and site-information lines of the page footer.

Every rule is data in `cleaners/rules/footer.toml`; this module only names the category.
"""

from __future__ import annotations

from cleaners.base import Cleaner


class FooterCleaner(Cleaner):
    """Copyright, legal and site-information lines of the page footer."""

    category = "footer"
