"""The one exception type a user can cause, printed by the CLI as a single line."""


class FerEdgeError(Exception):
    """A problem with the user's input (file, option, model), not a bug in fer-edge.

    The message must say what is wrong, where (file, line, option), and how to fix it, on one
    line: the CLI prints it as ``error: <message>`` and exits non-zero, without a traceback.
    """


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (or its type's name): third-party errors in one line."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:limit]
