"""What every dialect treats alike: which store errors mean "the exchange is not available right now"."""

from __future__ import annotations

from app.store.retry import UNAVAILABLE

__all__ = ["UNAVAILABLE"]
