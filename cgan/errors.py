"""The one exception type for mistakes a user can fix, and the exit codes the command line uses."""

EXIT_USER_ERROR = 2  # a CganError, a bad flag, a missing file
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


class CganError(Exception):
    """A problem the user caused and can fix: a missing file, a wrong format, no GPU.

    The message is one line that names the fix. The command line prints it as
    ``error: <message>`` and exits with code 2, without a traceback.
    """
