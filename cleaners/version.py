"""The cleaner's version: stamped into every row as `boilerstrip_version`."""

__version__ = "0.1.0"
