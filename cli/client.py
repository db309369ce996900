"""The HTTP side of the ``mockx`` trading commands: where the API is, which key to send, how a failure reads.

The URL comes from ``--url`` / ``MOCKX_URL``, else the one ``mockx up`` recorded in the data directory,
else ``http://127.0.0.1:8000``. The key comes from ``--api-key`` / ``MOCKX_API_KEY``, else the key
``mockx up`` stored in the data directory (for the server ``mockx up`` runs), else ``API_KEY``; an admin
command (``mockx accounts``, or any command given ``--account``) sends ``ADMIN_API_KEY`` first when it is set.
``--account NAME`` goes out as the ``account`` query parameter of every request: the admin acting on the
account ``NAME``.

Every failure is one line on stderr and a non-zero exit: 1 when the API refused the request (its ccxt
error code and message), 3 when the API could not be reached (naming the URL). Only ``rich_click`` is
imported at the top; ``httpx`` is imported on the first request.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import rich_click as click

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
KEY_FILE = "api-key"
SECRET_FILE = "api-secret"
UP_FILE = "up.json"
PLACEHOLDER_KEYS = frozenset({"", "invalid-key"})

EXIT_REFUSED = 1
EXIT_UNREACHABLE = 3


def fail(message: str, code: int = EXIT_REFUSED) -> NoReturn:
    """One sentence on stderr (red on a terminal), then exit with ``code``."""
    click.echo(click.style("mockx: ", fg="red", bold=True) + message, err=True)
    raise SystemExit(code)


# where things live -----------------------------------------------------------------------------------------
def data_dir() -> Path:
    """``MOCKX_DATA_DIR``, else the user data directory: the rule of ``app.settings``, without importing ``app``
    (which loads the whole engine and would add a quarter of a second to every command)."""
    raw = os.environ.get("MOCKX_DATA_DIR", "").strip()
    if raw:
        return Path(raw).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("mockx", appauthor=False))


def read_up_record(directory: Path) -> dict[str, Any] | None:
    """What the last ``mockx up`` on this data directory recorded (URL, port, pids), or None."""
    import json

    try:
        record = json.loads((directory / UP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def read_key_file(directory: Path, name: str = KEY_FILE) -> str | None:
    """The key (or, with ``name=SECRET_FILE``, the secret) ``mockx up`` stored in ``directory``, or None."""
    try:
        key = (directory / name).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return key or None


def resolve(url: str | None, api_key: str | None, *, admin: bool = False) -> tuple[str, str | None]:
    """The base URL and the API key (None: send none) by the rules in the module docstring."""
    directory = data_dir()
    record = read_up_record(directory)
    recorded = str(record.get("url") or "").rstrip("/") if record else ""
    base = (url or "").strip().rstrip("/") or recorded or DEFAULT_URL
    if "://" not in base:
        base = f"http://{base}"
    if api_key and api_key.strip():
        return base, api_key.strip()
    admin_key = os.environ.get("ADMIN_API_KEY", "").strip()
    if admin and admin_key:
        return base, admin_key
    stored = read_key_file(directory)
    given = bool(record and record.get("keyFrom") == "API_KEY")  # that `mockx up` ran with the API_KEY given
    if stored and recorded and base == recorded and not given:
        return base, stored
    env_key = os.environ.get("API_KEY", "").strip()
    if env_key not in PLACEHOLDER_KEYS:
        return base, env_key
    return base, stored


# the client ------------------------------------------------------------------------------------------------
def url_path(*parts: str) -> str:
    """A URL path whose user-given parts (symbols like ``BTC/USDT``, ids, assets) are percent-encoded."""
    from urllib.parse import quote

    return "/" + "/".join(quote(part.strip(), safe="") for part in parts)


class Reply:
    """A successful response: its status, its exact text (for ``--json``) and its decoded body."""

    __slots__ = ("_data", "status", "text")

    def __init__(self, status: int, text: str) -> None:
        self.status = status
        self.text = text
        self._data: Any = None

    @property
    def data(self) -> Any:
        """The JSON body with every non-integer number as a Decimal (exact, as the API sent it)."""
        if self._data is None:
            self._data = decode(self.text)
        return self._data


def decode(text: str) -> Any:
    import json

    return json.loads(text, parse_float=Decimal)


class Api:
    """A synchronous client of one MockX API; connects on the first request.

    ``account``: every request carries ``?account=NAME`` (the admin acting on that account); ``admin``: the
    command needs the admin key (``ADMIN_API_KEY`` is sent when it is set and no key was given)."""

    def __init__(
        self, url: str | None, api_key: str | None, timeout: float, *, account: str | None = None, admin: bool = False
    ) -> None:
        self.account = account.strip() if account and account.strip() else None
        self.url, self.api_key = resolve(url, api_key, admin=admin or self.account is not None)
        self.timeout = timeout
        self._client: httpx.Client | None = None

    def client(self) -> httpx.Client:
        if self._client is None:
            import httpx

            headers = {"user-agent": "mockx-cli", "accept": "application/json"}
            if self.api_key:
                headers["x-api-key"] = self.api_key
            self._client = httpx.Client(
                base_url=self.url,
                headers=headers,
                params={"account": self.account} if self.account else None,
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        accept: tuple[int, ...] = (),
    ) -> Reply:
        """Send one request; a 2xx (or a status in ``accept``) is returned, anything else ends the command."""
        import httpx

        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self.client().request(method, path, params=query, json=body)
        except httpx.TimeoutException:
            fail(f"the MockX API at {self.url} did not answer within {self.timeout:g} s", EXIT_UNREACHABLE)
        except httpx.TransportError as exc:
            fail(f"could not reach the MockX API at {self.url} ({reason(exc)}): {START_HINT}", EXIT_UNREACHABLE)
        if response.is_success or response.status_code in accept:
            return Reply(response.status_code, response.text)
        return refused(response.status_code, response.text, f"{method} {self.url}{path}")

    def get(self, path: str, **params: Any) -> Reply:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Reply:
        return self.request("POST", path, body=body)


START_HINT = "start it with `mockx up`, or point --url / MOCKX_URL at it"


def reason(exc: Exception) -> str:
    """A transport failure in a few words (``connection refused``, ``unknown host``...)."""
    import httpx

    text = str(exc)
    low = text.lower()
    if "refused" in low:
        return "connection refused"
    if "name or service not known" in low or "nodename nor servname" in low or "name resolution" in low:
        return "unknown host"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the connection was cut"
    if isinstance(exc, httpx.ReadTimeout):
        return "no data for too long"
    return text.split("] ", 1)[-1] or type(exc).__name__


def refused(status: int, text: str, where: str) -> NoReturn:
    """End the command with the API's error code and message (or what the response said instead)."""
    code, message = error_of(text)
    if code == "AuthenticationError":
        message += " (pass --api-key or set MOCKX_API_KEY; `mockx up` stores its key in the data directory)"
    if code is None:
        fail(f"HTTP {status} from {where}: {message}")
    fail(f"{code}: {message}")


def error_of(text: str) -> tuple[str | None, str]:
    """``(code, message)`` of an ``{"error": {...}}`` body; ``(None, text)`` for any other body."""
    try:
        error = decode(text)["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return None, " ".join(text.split())[:200] or "no details"


# options shared by every command that talks to the API -----------------------------------------------------
def api_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--url``, ``--api-key`` and ``--timeout``; the command receives them as one ``api: Api``."""
    return _with_api(func, API_OPTIONS)


def account_api_options(func: Callable[..., Any], *, admin: bool = False) -> Callable[..., Any]:
    """:func:`api_options` and ``--account NAME``, for a command on one account's data (the admin: any account)."""
    return _with_api(func, (*API_OPTIONS, ACCOUNT_OPTION), admin=admin)


def admin_api_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """:func:`api_options` of an admin-only command: it sends ``ADMIN_API_KEY`` when that is set."""
    return _with_api(func, API_OPTIONS, admin=True)


def _with_api(func: Callable[..., Any], options: tuple[Any, ...], *, admin: bool = False) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(
        *args: Any, url: str | None, api_key: str | None, timeout: float, account: str | None = None, **kwargs: Any
    ) -> Any:
        from click import get_current_context
        from click.core import ParameterSource

        if get_current_context().get_parameter_source("url") is ParameterSource.DEFAULT:
            url = None  # not given: the URL `mockx up` recorded comes first
        api = Api(url, api_key, timeout, account=account, admin=admin)
        try:
            return func(*args, api=api, **kwargs)
        finally:
            api.close()

    for option in reversed(options):
        wrapper = (ADMIN_KEY_OPTION if admin and option is API_KEY_OPTION else option)(wrapper)
    return wrapper


API_OPTIONS = (
    click.option(
        "--url",
        envvar="MOCKX_URL",
        show_envvar=True,
        default=DEFAULT_URL,
        show_default=False,
        metavar="URL",
        help=f"The MockX API.  [default: the URL `mockx up` recorded, else {DEFAULT_URL}]",
    ),
    API_KEY_OPTION := click.option(
        "--api-key",
        envvar="MOCKX_API_KEY",
        show_envvar=True,
        metavar="KEY",
        help="Sent as x-api-key.  [default: the key `mockx up` stored in the data directory, else $API_KEY]",
    ),
    click.option(
        "--timeout",
        type=click.FloatRange(min=0.1),
        default=30.0,
        show_default=True,
        metavar="SECONDS",
        help="How long to wait for the API.",
    ),
)

ADMIN_KEY_OPTION = click.option(
    "--api-key",
    envvar="MOCKX_API_KEY",
    show_envvar=True,
    metavar="KEY",
    help="Sent as x-api-key; an admin key.  [default: $ADMIN_API_KEY if set, else the key `mockx up` stored in "
    "the data directory, else $API_KEY]",
)

ACCOUNT_OPTION = click.option(
    "--account",
    metavar="NAME",
    help="Act on this account's data (admin; sent as ?account=NAME).  [default: the key's own account]",
)

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the API's JSON (exact numbers, one document) instead of a table."
)


class DecimalText(click.ParamType[str, Any]):
    """A positive decimal number given on the command line, kept as the text typed (sent to the API exactly)."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip().replace("_", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            self.fail(f"{value!r} is not a number", param, ctx)
        if not number.is_finite() or number <= 0:
            self.fail(f"{value!r} must be a number above zero", param, ctx)
        return text


NUMBER = DecimalText()
