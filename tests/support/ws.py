"""A WebSocket client made of a bare socket: it reads only when told to, so it can stall a server on purpose.

Client libraries keep reading in the background (into buffers of their own); this one does the opening
handshake and then leaves every frame in the kernel's buffers until :meth:`RawWebSocket.frame` is awaited.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket


class RawWebSocket:
    """One connection: :meth:`open` it, then read its frames one at a time (opcode, payload)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str, path: str, receive_buffer: int = 8192) -> RawWebSocket:
        """Connect to ``url`` (``http://host:port``), upgrade ``path``; the socket's receive buffer stays small."""
        host, port = url.removeprefix("http://").split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.connect((host, int(port)))
        sock.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert b" 101 " in head.split(b"\r\n", 1)[0], head
        return cls(reader, writer)

    async def frame(self) -> tuple[int, bytes]:
        """The next frame from the server (unmasked): its opcode (1 text, 8 close) and payload."""
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            size = int.from_bytes(await self.reader.readexactly(2), "big")
        elif size == 127:
            size = int.from_bytes(await self.reader.readexactly(8), "big")
        return first & 0x0F, await self.reader.readexactly(size)

    def close(self) -> None:
        self.writer.close()
