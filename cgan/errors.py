"""The one exception type for mistakes a user can fix."""


class CganError(Exception):
    """A problem the user caused and can fix: a missing file, a wrong format, no GPU.

    The message is one line that names the fix. The command line prints it as
    ``error: <message>`` and exits with code 2, without a traceback.
    """
