"""What the deployment tests share: the files under test, compose's reading of them, a small kustomize.

Compose and kustomize are not installed here (no Docker engine, no kubectl in CI), so this module reads
their files with the same rules, for the parts MockX uses: ``.env`` files, ``${VAR}`` interpolation, YAML
merge keys (PyYAML resolves them), and kustomize ``resources``/``components``/generators/``namespace``/
``labels``/``images``. A kustomization using anything else fails loudly instead of rendering wrong.
"""

from __future__ import annotations

import ast
import base64
import importlib.util
import json
import re
import shlex
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
CONTAINERFILE = ROOT / "Containerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
VALKEY_CONF = ROOT / "deploy" / "valkey.conf"
HEALTHCHECK_SCRIPT = ROOT / "deploy" / "healthcheck.py"
K8S = ROOT / "deploy" / "k8s"
ORDER_GENERATOR = ROOT / "examples" / "order-generator" / "order_generator.py"
SCHEMAS = Path(__file__).resolve().parent / "schemas"

MOCKX_SERVICES = ("api", "worker", "feed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_healthcheck() -> ModuleType:
    """deploy/healthcheck.py (a script, not a package module) imported under its installed name."""
    spec = importlib.util.spec_from_file_location("mockx_healthcheck", HEALTHCHECK_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- .env files ---------------------------------------------------------------------------------------------

_ENV_LINE = re.compile(r"^(?P<comment>#\s)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


def read_env_file(path: Path) -> dict[str, str]:
    """The variables an ``.env`` file sets, as compose reads it (``KEY=VALUE``, comments skipped)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _ENV_LINE.match(line.strip())
        if m and not m["comment"]:
            values[m["name"]] = _unquote(m["value"].strip())
    return values


def documented_variables(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """Every variable ``.env.example`` documents, set (``KEY=v``) or shown with its default (``# KEY=v``)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _ENV_LINE.match(line.strip())
        if m:
            values[m["name"]] = _unquote(m["value"].strip())
    return values


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


# --- compose interpolation ----------------------------------------------------------------------------------

_REFERENCE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>.*))?$", re.S)


class InterpolationError(ValueError):
    """A ``${VAR:?message}`` without a value, or a reference compose would reject."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation of one string: ``$VAR``, ``${VAR}``, ``${VAR:-d}``, ``${VAR-d}``,
    ``${VAR:?e}``, ``${VAR?e}``, ``${VAR:+r}``, ``${VAR+r}`` and ``$$``."""

    def replace(m: re.Match[str]) -> str:
        if m["escaped"]:
            return "$"
        if m["named"]:
            return env.get(m["named"], "")
        braced = _BRACED.match(m["braced"])
        if braced is None:
            raise InterpolationError(f"invalid interpolation {m[0]!r}")
        name, op, arg = braced["name"], braced["op"], braced["arg"] or ""
        value = env.get(name)
        empty = value is None or (op is not None and op.startswith(":") and value == "")
        if op in (":-", "-"):
            return interpolate(arg, env) if empty else str(value)
        if op in (":?", "?"):
            if empty:
                raise InterpolationError(f"{name}: {arg or 'required variable is missing'}")
            return str(value)
        if op in (":+", "+"):
            return "" if empty else interpolate(arg, env)
        return value or ""

    return _REFERENCE.sub(replace, text)


def interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env) for key, value in node.items()}
    return node


def referenced_variables(node: Any) -> dict[str, str | None]:
    """Every variable a compose file interpolates, with its ``:-``/``-`` default (None without one)."""
    found: dict[str, str | None] = {}
    for text in _strings(node):
        for m in _REFERENCE.finditer(text):
            if m["named"]:
                found.setdefault(m["named"], None)
            elif m["braced"] is not None:
                braced = _BRACED.match(m["braced"])
                if braced is None:
                    raise InterpolationError(f"invalid interpolation {m[0]!r}")
                default = braced["arg"] if braced["op"] in (":-", "-") else None
                if found.get(braced["name"]) is None:
                    found[braced["name"]] = default
    return found


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)


def raw_compose() -> dict[str, Any]:
    """compose.yaml parsed, merge keys resolved, not interpolated."""
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def load_compose(env: Mapping[str, str]) -> dict[str, Any]:
    """compose.yaml as compose sees it with ``env`` as the interpolation environment (its ``.env``)."""
    result = interpolate_tree(raw_compose(), env)
    assert isinstance(result, dict)
    return result


def service_environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's ``environment`` (mapping or ``KEY=VALUE`` list); keys without a value are skipped."""
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        pairs = dict(item.split("=", 1) for item in environment if "=" in item)
    else:
        pairs = {key: value for key, value in environment.items() if value is not None}
    return {str(key): "" if value is None else str(value) for key, value in pairs.items()}


def command_of(service: Mapping[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def healthcheck_of(service: Mapping[str, Any]) -> list[str]:
    """The healthcheck as an argv (``CMD`` form), or ``["sh", "-c", ...]`` for ``CMD-SHELL``."""
    test = (service.get("healthcheck") or {}).get("test")
    if isinstance(test, str):
        return ["sh", "-c", test]
    if not test or test[0] == "NONE":
        return []
    if test[0] == "CMD-SHELL":
        return ["sh", "-c", " ".join(test[1:])]
    return [str(part) for part in test[1:]]


def replicas_of(service: Mapping[str, Any]) -> int:
    return int((service.get("deploy") or {}).get("replicas", 1))


def published_ports(service: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(host_ip, published, target)`` of each short-syntax port mapping."""
    result = []
    for entry in service.get("ports") or []:
        parts = str(entry).rsplit(":", 2)
        if len(parts) == 3:
            result.append((parts[0], parts[1], parts[2]))
        elif len(parts) == 2:
            result.append(("", parts[0], parts[1]))
        else:
            result.append(("", "", parts[0]))
    return result


# --- Containerfile ------------------------------------------------------------------------------------------


def containerfile_instructions(text: str | None = None) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` in order, continuation lines joined and comments dropped."""
    text = CONTAINERFILE.read_text(encoding="utf-8") if text is None else text
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, args = line.partition(" ")
        instructions.append((word.upper(), args.strip()))
    return instructions


def stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Instructions grouped by build stage (the first group holds the global ``ARG``s)."""
    groups: list[list[tuple[str, str]]] = [[]]
    for instruction in instructions:
        if instruction[0] == "FROM":
            groups.append([])
        groups[-1].append(instruction)
    return groups


def exec_form(args: str) -> list[str]:
    """The JSON (exec) form of ``ENTRYPOINT``/``CMD``/``HEALTHCHECK CMD``."""
    value = json.loads(args)
    assert isinstance(value, list), f"not the exec (JSON) form: {args}"
    return [str(part) for part in value]


def image_entrypoint() -> list[str]:
    """The runtime stage's ENTRYPOINT without the init process: what runs in front of the command."""
    final = stages(containerfile_instructions())[-1]
    entry = exec_form(next(args for word, args in reversed(final) if word == "ENTRYPOINT"))
    if "--" in entry:
        entry = entry[entry.index("--") + 1 :]
    return entry


# --- the variables MockX reads ------------------------------------------------------------------------------


def settings_variables() -> set[str]:
    """Every environment variable app/settings.py reads."""
    source = (ROOT / "app" / "settings.py").read_text(encoding="utf-8")
    return set(re.findall(r"\bget\(\s*\"([A-Z][A-Z0-9_]*)\"", source))


def cli_variables() -> set[str]:
    """Every ``envvar=`` of a ``mockx`` command option."""
    names: set[str] = set()
    for path in (ROOT / "cli").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "envvar":
                value = node.value
                for item in value.elts if isinstance(value, ast.List | ast.Tuple) else [value]:
                    if isinstance(item, ast.Constant) and isinstance(item.value, str):
                        names.add(item.value)
    return names


# --- kustomize ----------------------------------------------------------------------------------------------

_KUSTOMIZATION_FIELDS = {
    "apiVersion",
    "kind",
    "namespace",
    "labels",
    "resources",
    "components",
    "configMapGenerator",
    "secretGenerator",
    "images",
}
_CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"}
_WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}


def load_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def kustomization(directory: Path) -> dict[str, Any]:
    data = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def render(directory: Path) -> list[dict[str, Any]]:
    """``kustomize build directory`` for the fields MockX uses (without name hashes)."""
    spec = kustomization(directory)
    unknown = set(spec) - _KUSTOMIZATION_FIELDS
    assert not unknown, f"{directory}: support.render does not know {sorted(unknown)} yet"
    docs: list[dict[str, Any]] = []
    for entry in spec.get("resources", []):
        path = (directory / entry).resolve()
        docs += render(path) if path.is_dir() else load_documents(path)
    docs += [_config_map(g, directory) for g in spec.get("configMapGenerator", [])]
    docs += [_secret(g, directory) for g in spec.get("secretGenerator", [])]
    for entry in spec.get("components", []):
        docs += render((directory / entry).resolve())
    if "namespace" in spec:
        for doc in docs:
            if doc["kind"] not in _CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = spec["namespace"]
    for group in spec.get("labels", []):
        assert not group.get("includeSelectors"), group
        assert not group.get("includeTemplates"), group
        for doc in docs:
            doc["metadata"].setdefault("labels", {}).update(group["pairs"])
    for image in spec.get("images", []):
        for container in (c for doc in docs for c in containers(doc)):
            name, _, _ = container["image"].partition(":")
            if name == image["name"]:
                container["image"] = f"{image.get('newName', name)}:{image['newTag']}"
    return docs


def containers(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    if doc["kind"] not in _WORKLOADS:
        return []
    pod = doc["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def _generator_pairs(generator: Mapping[str, Any], directory: Path) -> dict[str, str]:
    assert "behavior" not in generator, generator
    assert "options" not in generator, generator
    data: dict[str, str] = {}
    for env_file in generator.get("envs", []):
        data.update(read_env_file(directory / env_file))
    for literal in generator.get("literals", []):
        key, _, value = literal.partition("=")
        data[key] = value
    for file_source in generator.get("files", []):
        key, sep, path = file_source.partition("=")
        source = directory / (path if sep else key)
        data[key if sep else source.name] = source.read_text(encoding="utf-8")
    return data


def _config_map(generator: Mapping[str, Any], directory: Path) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": generator["name"]},
        "data": _generator_pairs(generator, directory),
    }


def _secret(generator: Mapping[str, Any], directory: Path) -> dict[str, Any]:
    pairs = _generator_pairs(generator, directory)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": generator.get("type", "Opaque"),
        "metadata": {"name": generator["name"]},
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in pairs.items()},
    }


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]
