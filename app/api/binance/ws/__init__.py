"""The Binance WebSocket surface: market streams (:mod:`.connection`, :mod:`.streams`) on the event hubs."""
