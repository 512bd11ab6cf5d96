"""Removes correction_notice lines: Requests to send corrections or report errors.

Every rule is data in `cleaners/rules/correction_notice.toml`; this module only names the category.
"""

from __future__ import annotations

from cleaners.base import Cleaner


class CorrectionNoticeCleaner(Cleaner):
    """Requests to send corrections or report errors."""

    category = "correction_notice"


class CorrectionNoticeAfterModelCleaner(CorrectionNoticeCleaner):
    """Its `after_model` rules (`rules/correction_notice.toml`): requests to report an error in other languages."""

    takes_after_model_rules = True
