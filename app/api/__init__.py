"""The MockX REST API (Litestar): ``create_app()`` builds it; ``mockx serve`` runs it."""

from app.api.app import create_app

__all__ = ["create_app"]
