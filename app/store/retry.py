"""Where the retry-with-backoff loop used to live; it is part of :mod:`app.store.transport` now.

Kept as a name for modules that still import it from here.
"""

from app.store.transport import TRANSIENT, retrying

__all__ = ["TRANSIENT", "retrying"]
