"""The web dashboard (``GET /ui``): static HTML, CSS and JavaScript modules shipped in this package, served by
the API itself, and the one route the native API lacks for it (the equity curve, :mod:`.equity`).

The page reads everything else from the native dialect's routes with the ``x-api-key`` header and follows
``GET /events`` by streaming it with ``fetch`` (an ``EventSource`` cannot send the header, and the key never
goes into a URL), resuming with ``Last-Event-ID`` after a disconnect.
"""

from app.api.dashboard.routes import ROUTER, lifespan

__all__ = ["ROUTER", "lifespan"]
