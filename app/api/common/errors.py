"""What every dialect treats alike: which store errors mean "the exchange is not available right now"."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

#: Store errors that mean "the exchange is not available right now", not "the request was wrong".
UNAVAILABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OutOfMemoryError)
