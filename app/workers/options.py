"""How a settlement worker runs (:class:`WorkerOptions`) and what it reports (its counters and heartbeat)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

import msgspec

from app.settings import Settings

__all__ = [
    "MAX_BATCH",
    "Counters",
    "Heartbeat",
    "WorkerOptions",
    "default_name",
    "heartbeat_decoder",
    "heartbeat_encoder",
]

# Entries per read at most. A batch holds one run per symbol, so this also bounds one settle_batch call
# (≈ 4 µs of Valkey time per tick).
MAX_BATCH = 1000


def default_name() -> str:
    """The stable consumer name of this replica: its host name (a container's host name is its id)."""
    return socket.gethostname() or "worker"


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """How one worker consumes. ``block_ms`` must stay below the client's socket timeout."""

    name: str = field(default_factory=default_name)
    group: str = "settlement"
    batch: int = 500
    block_ms: int = 1000
    claim_idle_ms: int = 30_000
    claim_every: float = 5.0
    max_deliveries: int = 5
    heartbeat_every: float = 5.0
    heartbeat_ttl: float = 15.0
    burst: bool = False
    sweep: bool = True

    def check(self, settings: Settings) -> None:
        """Raise ValueError naming the first option that cannot work with ``settings``."""
        timeout_ms = int(settings.redis_timeout * 1000)
        if not self.name or any(c.isspace() for c in self.name):
            raise ValueError(f"worker name must be non-empty without spaces, got {self.name!r}")
        if not 1 <= self.batch <= MAX_BATCH:
            raise ValueError(f"batch must be between 1 and {MAX_BATCH}, got {self.batch}")
        if not 1 <= self.block_ms < timeout_ms:
            raise ValueError(
                f"block must be at least 1 ms and below the socket timeout "
                f"(REDIS_TIMEOUT = {timeout_ms} ms), got {self.block_ms} ms"
            )
        if self.claim_idle_ms < 1 or self.claim_every <= 0:
            raise ValueError("claim idle time and claim interval must be positive")
        if self.max_deliveries < 1:
            raise ValueError(f"max deliveries must be at least 1, got {self.max_deliveries}")
        if not 0 < self.heartbeat_every < self.heartbeat_ttl:
            raise ValueError("the heartbeat interval must be positive and shorter than its TTL")


class Counters(msgspec.Struct):
    """What this worker did since it started (``processed``: ticks applied)."""

    processed: int = 0
    filled: int = 0
    claimed: int = 0
    dead: int = 0
    errors: int = 0
    last_id: str = ""
    last_error: str = ""


class Heartbeat(Counters, kw_only=True):
    """The value of ``{ns}:heartbeat:<name>`` (one flat JSON object); times in ms since the epoch."""

    name: str
    pid: int
    host: str
    group: str
    stream: str
    started: int
    last_beat: int
    healthy: bool


heartbeat_encoder = msgspec.json.Encoder()
heartbeat_decoder = msgspec.json.Decoder(Heartbeat)
