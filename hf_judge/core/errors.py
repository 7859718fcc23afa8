"""The one exception type for bad input: a value the caller gave that hf_judge cannot use.

It subclasses ``ValueError``, so ``except ValueError`` keeps working; the command line reports it
(and ``OSError``) as a user error with exit status 2, and lets every other exception, an internal
bug included, surface with its traceback.
"""

__all__ = ["InputError"]


class InputError(ValueError):
    """A bad value given by the caller; the message names it."""
