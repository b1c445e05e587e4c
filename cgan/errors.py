"""The one exception type for mistakes a user can fix, and the exit codes the command line uses."""

EXIT_USER_ERROR = 2  # a CganError, a bad flag, a missing file
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (libraries raise pages), or its type when it has none."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


class CganError(Exception):
    """A problem the user caused and can fix: a missing file, a wrong format, no GPU.

    The message is one line that names the fix. The command line prints it as
    ``error: <message>`` and exits with code 2, without a traceback.
    """
