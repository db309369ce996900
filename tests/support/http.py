"""The API over HTTP: its error shape, admin shortcuts, and the app under a real HTTP server (uvicorn)."""

from __future__ import annotations

import socket
import threading
from typing import Any

import httpx
import uvicorn
from litestar import Litestar

API_KEY = "test-secret-key"


def error(response: httpx.Response, status: int, code: str) -> str:
    """Assert ``response`` is the API's error shape with this status and ccxt code; return the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"], body
    assert body["error"]["code"] == code, body
    message = body["error"]["message"]
    assert isinstance(message, str), body
    assert len(message) > 10, body
    return message


async def fund(client: Any, asset: str = "USDT", amount: Any = 100000) -> dict[str, Any]:
    r = await client.post("/admin/fund", json={"asset": asset, "amount": amount})
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def set_price(client: Any, symbol: str, price: Any, **extra: Any) -> dict[str, Any]:
    r = await client.patch(f"/admin/tickers/{symbol}/price", json={"price": price, **extra})
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


class LiveServer:
    """An app under uvicorn in a background thread (its own event loop), on a free port.

    ``send_buffer`` fixes the kernel send buffer of its connections (bytes; default: the kernel's, which grows to
    megabytes on the loopback), so a client that stops reading stalls the server's writes soon.
    """

    def __init__(self, app: Litestar, *, send_buffer: int | None = None) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        sockets = None
        if send_buffer is not None:  # accepted connections inherit the listening socket's buffer size
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
            listener.bind(("127.0.0.1", 0))
            sockets = [listener]
        self.thread = threading.Thread(target=self.server.run, args=(sockets,), name="live-api", daemon=True)
        self.url = ""

    def start(self) -> LiveServer:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                port = self.server.servers[0].sockets[0].getsockname()[1]
                self.url = f"http://127.0.0.1:{port}"
                return self
            if not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            threading.Event().wait(0.02)
        raise RuntimeError("the live server did not start within 10 s")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
