"""Removes comments_prompt lines: Prompts to read, post or join comments.

Every rule is data in `cleaners/rules/comments_prompt.toml`; this module only names the category.
"""

from __future__ import annotations

from cleaners.base import Cleaner


class CommentsPromptCleaner(Cleaner):
    """Prompts to read, post or join comments."""

    category = "comments_prompt"


class CommentsPromptAfterModelCleaner(CommentsPromptCleaner):
    """Its `after_model` rules (`rules/comments_prompt.toml`): comment-form lines in other languages."""

    takes_after_model_rules = True
