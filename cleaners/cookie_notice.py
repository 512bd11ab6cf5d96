"""Removes cookie_notice lines: Cookie and consent banners.

Every rule is data in `cleaners/rules/cookie_notice.toml`; this module only names the category.
"""

from __future__ import annotations

from cleaners.base import Cleaner


class CookieNoticeCleaner(Cleaner):
    """Cookie and consent banners."""

    category = "cookie_notice"


class CookieNoticeAfterModelCleaner(CookieNoticeCleaner):
    """Its `after_model` rules (`rules/cookie_notice.toml`): cookie banners and buttons in other languages."""

    takes_after_model_rules = True
