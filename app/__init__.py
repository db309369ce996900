"""MockX: a zero-risk spot-exchange emulator for ccxt trading bots, with its state in Valkey."""

from app.engine.errors import ExchangeError
from app.engine.exchange import Exchange
from app.settings import Settings

__version__ = "0.1.0"

__all__ = ["Exchange", "ExchangeError", "Settings", "__version__"]
