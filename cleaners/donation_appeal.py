"""Removes donation_appeal lines: Donation, patronage and membership appeals addressed to the reader.

Every rule is data in `cleaners/rules/donation_appeal.toml`; this module only names the category.
"""

from __future__ import annotations

from cleaners.base import Cleaner


class DonationAppealCleaner(Cleaner):
    """Donation, patronage and membership appeals addressed to the reader."""

    category = "donation_appeal"


class DonationAppealAfterModelCleaner(DonationAppealCleaner):
    """Its `after_model` rules (`rules/donation_appeal.toml`): donation and membership buttons in other languages."""

    takes_after_model_rules = True
