"""Prices: the price stream, the settlement workers that consume it, and the publishers that feed it.

::

    publishers (feeds.py, anyone) --XADD--> price stream --XREADGROUP--> settlement workers (worker.py)
                                                                          |  settle_tick.lua per tick
    older price keys (legacy.py) --every TICK_LOOP_SEC--> price stream    v
                                                                        Valkey state + events

The stream contract itself lives in :mod:`app.engine.ticks`.
"""
