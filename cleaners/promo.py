"""Removes promo lines: House promotions: "read more from" banners, subscribe and newsletter sign-ups.

Every rule is data in `cleaners/rules/promo.toml`; this module only names the category.
"""

from __future__ import annotations

from cleaners.base import Cleaner


class PromoCleaner(Cleaner):
    """House promotions: "read more from" banners, subscribe and newsletter sign-ups."""

    category = "promo"
