"""Errors that carry a message meant for the user: what is wrong, and how to fix it.

The CLI prints these as one line, without a traceback, and exits with status 2: bad input, whether a
setting, a data file or an output path. Anything else is a bug and keeps its traceback.
"""


class BnnreproError(Exception):
    """Base class for errors whose message is shown to the user as is."""

    exit_code = 1


class ConfigError(BnnreproError, ValueError):
    """A setting (CLI option, YAML key, config value) is invalid."""

    exit_code = 2


class DataError(BnnreproError):
    """A dataset or result file is missing, corrupt or cannot be obtained."""

    exit_code = 2
