"""Removes promo lines: House promotions: "read more from" banners, subscribe and newsletter sign-ups.

Every rule is data in `cleaners/rules/promo.toml`; this module only names the category.
"""

from __future__ import annotations

from cleaners.base import Cleaner


class PromoCleaner(Cleaner):
    """House promotions: "read more from" banners, subscribe and newsletter sign-ups."""

    category = "promo"


class PromoAfterModelCleaner(Cleaner):
    """The promo rules marked `after_model` in `rules/promo.toml`: sign-up calls the line model kept."""

    category = "promo"
    takes_after_model_rules = True
