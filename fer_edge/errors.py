"""The one exception type a user can cause, printed by the CLI as a single line."""


class FerEdgeError(Exception):
    """A problem with the user's input (file, option, model), not a bug in fer-edge.

    The message must say what is wrong, where (file, line, option), and how to fix it, on one
    line: the CLI prints it as ``error: <message>`` and exits non-zero, without a traceback.
    """
