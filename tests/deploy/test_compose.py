"""compose.yaml and .env.example: valid against the compose specification (offline), and the contract.

The schema is the compose-spec JSON schema vendored in tests/deploy/schemas (source and licence in its
README). The stack itself is run in test_compose_stack.py.
"""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from typing import Any

import pytest

from app.settings import Settings
from tests.deploy import support


@pytest.fixture(scope="module")
def validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema", reason="test dependency: pip install jsonschema")
    schema = json.loads((support.SCHEMAS / "compose-spec.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """compose.yaml as compose reads it after `cp .env.example .env`."""
    return support.load_compose(support.read_env_file(support.ENV_EXAMPLE))


def _errors(validator: Any, document: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_compose_file_matches_the_compose_specification(validator: Any, compose: dict[str, Any]) -> None:
    assert _errors(validator, support.raw_compose()) == []
    assert _errors(validator, compose) == []


def test_the_schema_rejects_what_compose_rejects(validator: Any, compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["api"]["depends_on"]["valkey"]["condition"] = "service_ready"
    broken["services"]["worker"]["helthcheck"] = broken["services"]["worker"].pop("healthcheck")
    errors = _errors(validator, broken)
    assert any("service_ready" in e for e in errors), errors
    assert any("helthcheck" in e for e in errors), errors


def test_valkey_service_is_pinned_durable_and_checked(compose: dict[str, Any]) -> None:
    valkey = compose["services"]["valkey"]
    pinned = r"(docker\.io/)?valkey/valkey:\d+\.\d+\.\d+(-[a-z0-9.]+)?(@sha256:[0-9a-f]{64})?"
    assert re.fullmatch(pinned, valkey["image"])
    mounts = {target: source for source, target, *_ in (v.split(":") for v in valkey["volumes"])}
    config_path = support.command_of(valkey)[1]
    assert (support.ROOT / mounts[config_path]).resolve() == support.VALKEY_CONF
    assert mounts["/data"] in compose["volumes"], "the data directory must be a named volume"
    assert support.healthcheck_of(valkey)
    conf = support.VALKEY_CONF.read_text(encoding="utf-8")
    assert re.search(r"^appendonly yes$", conf, re.M)
    assert re.search(r"^maxmemory-policy noeviction$", conf, re.M)


def test_one_image_runs_every_mockx_service(compose: dict[str, Any]) -> None:
    services = compose["services"]
    images = {services[name]["image"] for name in support.MOCKX_SERVICES}
    assert len(images) == 1
    for name in support.MOCKX_SERVICES:
        assert services[name]["build"]["dockerfile"] == support.CONTAINERFILE.name
        assert (support.ROOT / services[name]["build"]["context"]).resolve() == support.ROOT
        assert services[name]["depends_on"]["valkey"]["condition"] == "service_healthy"
        assert "entrypoint" not in services[name], "the image's entrypoint (tini -- mockx) must stay in front"


def test_services_run_the_commands_the_deployment_needs(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert support.command_of(services["api"])[0] == "serve"
    assert support.command_of(services["worker"]) == ["worker"]
    assert support.replicas_of(services["worker"]) == 2
    assert support.healthcheck_of(services["worker"]) == ["mockx", "worker", "--check"]
    feed = support.command_of(services["feed"])
    assert feed[0] == "feed"
    assert "--source=synthetic" in feed
    assert services["feed"]["profiles"] == ["feed"], "the feed is opt-in"
    assert all("profiles" not in services[name] for name in ("valkey", "api", "worker"))


def test_api_publishes_the_port_it_listens_on(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    [(host_ip, published, target)] = support.published_ports(api)
    port = support.service_environment(api)["ENGINE_PORT"]
    assert published == target == port == "8000"
    assert host_ip == "127.0.0.1", "published on loopback unless API_BIND says otherwise"
    moved = support.load_compose({"ENGINE_PORT": "9100", "API_BIND": "0.0.0.0"})["services"]["api"]
    assert support.published_ports(moved) == [("0.0.0.0", "9100", "9100")]
    assert support.service_environment(moved)["ENGINE_PORT"] == "9100"


def test_every_mockx_service_reaches_the_valkey_service(compose: dict[str, Any]) -> None:
    for name in support.MOCKX_SERVICES:
        env = support.service_environment(compose["services"][name])
        assert env["REDIS_URL"] == "redis://valkey:6379/0", name
        assert Settings.from_env(env).redis_url == "redis://valkey:6379/0"
    api_env = support.service_environment(compose["services"]["api"])
    assert api_env["API_KEY"] == "", "the key comes from .env only"
    for name in ("worker", "feed"):
        assert "API_KEY" not in support.service_environment(compose["services"][name])


def test_env_example_documents_every_variable() -> None:
    documented = support.documented_variables()
    interpolated = set(support.referenced_variables(support.raw_compose()))
    used = support.settings_variables() | support.cli_variables() | interpolated
    assert sorted(used - set(documented)) == []


def test_documented_defaults_are_the_real_defaults() -> None:
    """A default shown in .env.example is the one compose, app/settings.py or the command applies."""
    documented = support.documented_variables()
    referenced = support.referenced_variables(support.raw_compose())
    compose_defaults = {name: default for name, default in referenced.items() if default}
    for name, default in compose_defaults.items():
        assert documented[name] == default, f".env.example: {name}={documented[name]}, compose: {default}"
    baseline = Settings.from_env({})
    for name in sorted(support.settings_variables() - set(compose_defaults) - {"API_KEY"}):
        configured = Settings.from_env({name: documented[name]})
        assert configured == baseline, f".env.example: {name}={documented[name]!r} is not the default"
    for name, default in _cli_defaults().items():
        if name in documented and name not in support.settings_variables():
            assert documented[name] == default, f".env.example: {name}={documented[name]}, option: {default}"


def test_env_example_values_are_valid_settings() -> None:
    documented = support.documented_variables()
    settings = Settings.from_env({k: v for k, v in documented.items() if k in support.settings_variables()})
    assert settings.commission == Decimal("0.00075")


def _cli_defaults() -> dict[str, str]:
    """``envvar`` -> the option's default, for every option of every ``mockx`` command."""
    from cli.main import cli

    defaults: dict[str, str] = {}
    for command in cli.commands.values():
        for param in command.params:
            envvars = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or [])
            for name in envvars:
                default = param.default
                defaults[name] = str(default) if isinstance(default, str | int | float) else ""
    return defaults
