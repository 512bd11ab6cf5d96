"""Removes teaser cards for other articles: runs of summaries the site cut short with an ellipsis.

Every rule is data in `cleaners/rules/teaser.toml`; this module only names the category. It runs after the line model
(see `cleaners.pipeline.PIPELINE`): there it is measured against the same model, and it names the cut-off summaries the
model had already cut.
"""

from __future__ import annotations

from cleaners.base import Cleaner


class TeaserCleaner(Cleaner):
    """Runs of lines of 12+ words ending with an ellipsis, a few lines apart: a list of teaser cards' summaries."""

    category = "teaser"
