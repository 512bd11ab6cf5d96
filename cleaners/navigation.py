"""Removes navigation lines: Menu, skip-link and account lines of the site's navigation.

Every rule is data in `cleaners/rules/navigation.toml`; this module only names the category.
"""

from __future__ import annotations

from cleaners.base import Cleaner


class NavigationCleaner(Cleaner):
    """Menu, skip-link and account lines of the site's navigation."""

    category = "navigation"


class NavigationAfterModelCleaner(NavigationCleaner):
    """Its `after_model` rules (`rules/navigation.toml`): skip links and widget headers in other languages."""

    takes_after_model_rules = True
