"""Removes share_prompt lines: Prompts and button rows for sharing the page.

Every rule is data in `cleaners/rules/share_prompt.toml`; this module only names the category.
"""

from __future__ import annotations

from cleaners.base import Cleaner


class SharePromptCleaner(Cleaner):
    """Prompts and button rows for sharing the page."""

    category = "share_prompt"


class SharePromptAfterModelCleaner(SharePromptCleaner):
    """Its `after_model` rules (`rules/share_prompt.toml`): share prompts in other languages."""

    takes_after_model_rules = True
