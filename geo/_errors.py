"""Exceptions raised by propmap.

Each subclasses a builtin so callers can catch broadly, and each message says,
in Chinese, what went wrong and what to do about it: these reach staff through
the command line and the dashboard unchanged.
"""


class PropmapError(Exception):
    """Base class: an error whose message is meant for the user as-is."""


class DatabaseSetupError(PropmapError, RuntimeError):
    """The local database could not be prepared (package, cluster, role, extension)."""


class InputFileError(PropmapError, ValueError):
    """A whole input file is unusable: not a table, wrong format, required columns missing."""


class CRSError(PropmapError, ValueError):
    """Geometry arrived without a coordinate reference system, or with one we cannot convert."""
