"""`mockx info`: what a bot needs to connect: the URL, the API key and secret (and where they came from), the
docs link, the data directory and the versions; ``--json`` for scripts, ``mockx info FIELD`` for one value.

The URL and the key are found exactly as every other command finds them (cli/client.py). The secret (the
default account's, for ccxt's ``secret``) is the ``api-secret`` file `mockx up` wrote beside ``api-key`` when
talking to that server (unless it ran with ``API_SECRET`` given), else ``API_SECRET``. The API is asked for
its versions and whether it serves the docs; an API that does not answer is reported, not an error.
"""

from __future__ import annotations

from typing import Any

import rich_click as click

from cli.client import Api, api_options, json_option

FIELDS = {"url": "url", "key": "apiKey", "secret": "apiSecret", "docs": "docs", "data-dir": "dataDir"}


@click.command("info")
@click.argument("field", required=False, type=click.Choice(list(FIELDS)))
@json_option
@api_options
def info(api: Api, field: str | None, as_json: bool) -> None:
    """Show how to connect: URL, API key and secret, docs link, data directory, versions.

    \b
    mockx info              a table
    mockx info --json       the same as one JSON object
    mockx info key          just the key, for a shell: curl -H "x-api-key: $(mockx info key)" ...
    """
    facts = gather(api)
    if field is not None:
        value = facts[FIELDS[field]]
        if value is None:
            from cli.client import auth_hint, fail

            if field == "key":
                fail(f"no API key found ({auth_hint()})")
            fail(SECRET_HINT if field == "secret" else f"no {field} known")
        click.echo(value)
    elif as_json:
        import json

        click.echo(json.dumps(facts, default=str))
    else:
        _show(facts)


def gather(api: Api) -> dict[str, Any]:
    """Everything ``mockx info`` shows, as the JSON object ``--json`` prints."""
    from cli.client import data_dir

    facts: dict[str, Any] = {
        "url": api.url,
        "apiKey": api.api_key,
        "apiKeyFrom": api.key_from,
        "docs": None,
        "dataDir": str(data_dir()),
        "reachable": False,
        "versions": {"mockx-cli": _cli_version()},
    }
    facts.update(_ask_the_api(api))
    facts.update(_extras(api))
    return facts


def _ask_the_api(api: Api) -> dict[str, Any]:
    """Whether the API answers, serves the docs (TEST_ENV), and its versions (from ``/admin/health``)."""
    import httpx

    from cli.client import decode

    try:
        client = api.client()
        if client.get("/livez").status_code != 200:
            return {}
        found: dict[str, Any] = {"reachable": True}
        if client.get("/schema/openapi.json").status_code == 200:
            found["docs"] = f"{api.url}/docs"
        health = client.get("/admin/health")
        if health.status_code in (200, 503):
            versions = decode(health.text).get("versions") or {}
            found["versions"] = {"mockx-cli": _cli_version(), **{str(k): str(v) for k, v in versions.items()}}
        elif health.status_code == 401:
            found["auth"] = "refused: the key is missing or wrong"
        return found
    except (httpx.HTTPError, ValueError, AttributeError):
        return {}


def _cli_version() -> str:
    from importlib.metadata import version

    return version("mockx")


SECRET_HINT = "no API secret found: `mockx up` writes one beside the key in the data directory, or set API_SECRET"


def _extras(api: Api) -> dict[str, Any]:
    """What ``mockx info`` shows beyond the key: the API secret (and where it came from) and the ccxt snippet
    that points an unmodified ``ccxt.binance`` at this server.

    Each is one more key of the JSON object and one more row of the table (see ``_show``).
    """
    secret, secret_from = locate_secret(api.url)
    snippet = ccxt_snippet(api.url, api.api_key or "YOUR_API_KEY", secret or "YOUR_API_SECRET")
    return {"apiSecret": secret, "apiSecretFrom": secret_from, "ccxt": snippet}


#: The README's "Point your bot at MockX" ccxt snippet (tests/test_readme.py checks they are the same).
CCXT_SNIPPET = """\
import ccxt  # the same for ccxt.async_support and ccxt.pro (REST and WebSocket)
from urllib.parse import urlsplit

MOCKX = "{url}"


def to_mockx(urls):
    \"\"\"Every http(s) and ws(s) URL of ccxt's urls['api'] moved to MockX, its path kept.\"\"\"
    moved = {{}}
    for name, url in urls.items():
        if isinstance(url, dict):
            moved[name] = to_mockx(url)
        elif isinstance(url, str) and url.startswith("http"):
            moved[name] = MOCKX + urlsplit(url).path
        elif isinstance(url, str) and url.startswith("ws"):  # ccxt.pro's streams
            moved[name] = MOCKX.replace("http", "ws", 1) + urlsplit(url).path
        else:
            moved[name] = url
    return moved


api = to_mockx(ccxt.binance().urls["api"])
exchange = ccxt.binance(
    {{
        "apiKey": "{key}",
        "secret": "{secret}",
        "urls": {{"api": api, "test": api}},  # "test" too: set_sandbox_mode(True) stays on MockX
    }}
)
exchange.load_markets()
print(exchange.fetch_balance()["total"])
"""


def ccxt_snippet(url: str, key: str, secret: str) -> str:
    """The ccxt snippet with this server's URL, key and secret filled in."""
    return CCXT_SNIPPET.format(url=url.rstrip("/"), key=key, secret=secret)


def locate_secret(url: str) -> tuple[str | None, str]:
    """The default account's secret and where it came from, by the rule of the module docstring."""
    import os

    from cli.client import SECRET_FILE, data_dir, read_key_file, read_up_record

    directory = data_dir()
    record = read_up_record(directory) or {}
    recorded = str(record.get("url") or "").rstrip("/")
    stored = read_key_file(directory, SECRET_FILE)
    given = record.get("secretFrom") == "API_SECRET"  # that `mockx up` ran with the API_SECRET given
    if stored and recorded and url == recorded and not given:
        return stored, str(directory / SECRET_FILE)
    env_secret = os.environ.get("API_SECRET", "").strip()
    if env_secret:
        return env_secret, "API_SECRET"
    return stored, str(directory / SECRET_FILE) if stored else "none"


def _show(facts: dict[str, Any]) -> None:
    from cli.output import pairs, show

    key = facts["apiKey"]
    rows = [
        ("API", f"[bold]{facts['url']}[/]" + ("" if facts["reachable"] else "  [red](not answering)[/]")),
        ("API key", f"{key}  (from {facts['apiKeyFrom']})" if key else "none (the API must run with TEST_ENV=true)"),
    ]
    secret = facts.get("apiSecret")
    rows.append(("API secret", f"{secret}  (from {facts['apiSecretFrom']})" if secret else "none known"))
    if facts.get("auth"):
        rows.append(("auth", f"[red]{facts['auth']}[/]"))
    docs = facts["docs"] or ("off; `mockx up --test-env` serves /docs" if facts["reachable"] else "unknown")
    rows += [
        ("docs", docs),
        ("data dir", facts["dataDir"]),
        ("versions", ", ".join(f"{k} {v}" for k, v in facts["versions"].items())),
    ]
    show(pairs(rows, title="MockX"))
    click.echo("\nccxt.binance against this server (Binance's REST dialect, same port):\n")
    click.echo(facts["ccxt"])


COMMANDS: list[click.Command] = [info]
