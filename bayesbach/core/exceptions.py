"""Expected failures: bad input or config, reported as one readable message, never a traceback."""


class StudyError(Exception):
    """A failure caused by the input or the configuration; the message says what to change."""
