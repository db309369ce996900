"""The Binance spot dialect."""
