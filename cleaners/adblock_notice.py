"""Removes adblock_notice lines: Requests to switch off an ad blocker or allow-list the site.

Every rule is data in `cleaners/rules/adblock_notice.toml`; this module only names the category.
"""

from __future__ import annotations

from cleaners.base import Cleaner


class AdblockNoticeCleaner(Cleaner):
    """Requests to switch off an ad blocker or allow-list the site."""

    category = "adblock_notice"


class AdblockNoticeAfterModelCleaner(AdblockNoticeCleaner):
    """Its `after_model` rules (`rules/adblock_notice.toml`): ad-block notices in other languages."""

    takes_after_model_rules = True
