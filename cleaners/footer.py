"""Removes footer lines: Copyright, legal and site-information lines of the page footer.

Every rule is data in `cleaners/rules/footer.toml`; this module only names the category.
"""

from __future__ import annotations

from cleaners.base import Cleaner


class FooterCleaner(Cleaner):
    """Copyright, legal and site-information lines of the page footer."""

    category = "footer"


class FooterAfterModelCleaner(FooterCleaner):
    """Its `after_model` rules (`rules/footer.toml`): copyright lines in other languages."""

    takes_after_model_rules = True
