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
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, overload

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


def locate(url: str | None, api_key: str | None, *, admin: bool = False) -> tuple[str, str | None, str]:
    """The base URL, the API key (None: send none) and where the key came from, by the module docstring.

    ``admin``: the command needs the admin key, so ``ADMIN_API_KEY`` comes first when it is set. The stored
    key is skipped when ``mockx up`` ran with ``API_KEY`` given (``keyFrom`` in up.json): its server uses that.
    """
    directory = data_dir()
    record = read_up_record(directory)
    recorded = str(record.get("url") or "").rstrip("/") if record else ""
    base = (url or "").strip().rstrip("/") or recorded or DEFAULT_URL
    if "://" not in base:
        base = f"http://{base}"
    if api_key and api_key.strip():
        return base, api_key.strip(), "--api-key / MOCKX_API_KEY"
    admin_key = os.environ.get("ADMIN_API_KEY", "").strip()
    if admin and admin_key:
        return base, admin_key, "ADMIN_API_KEY"
    stored = read_key_file(directory)
    given = bool(record and record.get("keyFrom") == "API_KEY")  # that `mockx up` ran with the API_KEY given
    if stored and recorded and base == recorded and not given:
        return base, stored, str(directory / KEY_FILE)
    env_key = os.environ.get("API_KEY", "").strip()
    if env_key not in PLACEHOLDER_KEYS:
        return base, env_key, "API_KEY"
    return base, stored, str(directory / KEY_FILE) if stored else "none"


def resolve(url: str | None, api_key: str | None, *, admin: bool = False) -> tuple[str, str | None]:
    """The base URL and the API key (None: send none) by the rules in the module docstring."""
    base, key, _ = locate(url, api_key, admin=admin)
    return base, key


def auth_hint() -> str:
    """Where a key comes from, for every "401 AuthenticationError" message (the CLI's and the example bot's)."""
    return (
        "a key comes from --api-key or MOCKX_API_KEY, else the file `mockx up` wrote in the data directory "
        f"({data_dir() / KEY_FILE}), else API_KEY; `mockx info` shows the one in use"
    )


# the client ------------------------------------------------------------------------------------------------
def url_path(*parts: str) -> str:
    """A URL path whose user-given parts (symbols like ``BTC/USDT``, ids, assets) are percent-encoded."""
    from urllib.parse import quote

    return "/" + "/".join(quote(part.strip(), safe="") for part in parts)


class Reply:
    """A successful response: its status, its exact text (for ``--json``), its decoded body and the query of
    the next page its ``Link`` header names (a paged list; None on the last page)."""

    __slots__ = ("_data", "link", "status", "text")

    def __init__(self, status: int, text: str, link: str | None = None) -> None:
        self.status = status
        self.text = text
        self.link = link
        self._data: Any = None

    @property
    def next_query(self) -> dict[str, str] | None:
        """The query parameters of the ``rel="next"`` URL of the Link header, or None when there is none."""
        from urllib.parse import parse_qsl, urlsplit

        match = re.match(r'\s*<([^>]*)>\s*;\s*rel="?next"?', self.link or "")
        return dict(parse_qsl(urlsplit(match.group(1)).query)) if match else None

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
    command needs the admin key (``ADMIN_API_KEY`` is sent when it is set and no key was given);
    ``key_from``: where the key came from (``mockx info`` says it)."""

    def __init__(
        self, url: str | None, api_key: str | None, timeout: float, *, account: str | None = None, admin: bool = False
    ) -> None:
        self.account = account.strip() if account and account.strip() else None
        self.url, self.api_key, self.key_from = locate(url, api_key, admin=admin or self.account is not None)
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
            return Reply(response.status_code, response.text, response.headers.get("link"))
        return refused(response.status_code, response.text, f"{method} {self.url}{path}")

    def get(self, path: str, **params: Any) -> Reply:
        return self.request("GET", path, params=params)

    def pages(self, path: str, **params: Any) -> Iterator[Reply]:
        """Every page of a list, following each reply's ``Link: rel="next"`` until the last page."""
        reply = self.get(path, **params)
        yield reply
        while (following := reply.next_query) is not None:
            following.pop("account", None)  # every request of this client carries it already
            reply = self.get(path, **following)
            yield reply

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
        message += f" ({auth_hint()})"
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
    """``--url``, ``--api-key`` and ``--timeout``; the command receives them as one ``api: Api``.

    ``--url`` and ``--api-key`` may also come before the subcommand (``mockx --api-key K balance``); given
    after it, they win.
    """
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
        from click.core import ParameterSource

        if _source("url") is ParameterSource.DEFAULT:
            url = None  # not given: the URL `mockx up` recorded comes first
        if ACCOUNT_OPTION in options:  # `mockx --account NAME balance` as well as `mockx balance --account NAME`
            account = _from_group("account", account)
        api = Api(_from_group("url", url), _from_group("api_key", api_key), timeout, account=account, admin=admin)
        try:
            return func(*args, api=api, **kwargs)
        finally:
            api.close()

    for option in reversed(options):
        wrapper = (ADMIN_KEY_OPTION if admin and option is API_KEY_OPTION else option)(wrapper)
    return wrapper


def _source(name: str) -> Any:
    from click import get_current_context

    return get_current_context().get_parameter_source(name)


def _from_group(name: str, value: Any) -> Any:
    """``value`` of the subcommand's option, unless only the group's (``mockx --NAME X cmd``) was typed."""
    from click import get_current_context
    from click.core import ParameterSource

    ctx = get_current_context()
    root = ctx.find_root()
    if root is ctx or _source(name) is ParameterSource.COMMANDLINE:
        return value
    if root.get_parameter_source(name) is ParameterSource.COMMANDLINE:
        return root.params.get(name)
    return value


URL_HELP = f"The MockX API.  [default: the URL `mockx up` recorded, else {DEFAULT_URL}]"
KEY_HELP = "Sent as x-api-key.  [default: the key `mockx up` stored in the data directory, else $API_KEY]"
JSON_HELP = "Print the API's JSON (exact numbers, one document) instead of a table."

API_OPTIONS = (
    click.option(
        "--url", envvar="MOCKX_URL", show_envvar=True, default=DEFAULT_URL, show_default=False, metavar="URL",
        help=URL_HELP,
    ),
    API_KEY_OPTION := click.option(
        "--api-key", envvar="MOCKX_API_KEY", show_envvar=True, metavar="KEY", help=KEY_HELP
    ),
    click.option(
        "--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True, metavar="SECONDS",
        help="How long to wait for the API.",
    ),
)  # fmt: skip

ADMIN_KEY_OPTION = click.option(
    "--api-key",
    envvar="MOCKX_API_KEY",
    show_envvar=True,
    metavar="KEY",
    help="Sent as x-api-key; an admin key.  [default: $ADMIN_API_KEY if set, else the key `mockx up` stored in "
    "the data directory, else $API_KEY]",
)

ACCOUNT_HELP = "Act on this account's data (admin; sent as ?account=NAME).  [default: the key's own account]"
ACCOUNT_OPTION = click.option("--account", metavar="NAME", help=ACCOUNT_HELP)

GROUP_OPTIONS = (  # the same, before the subcommand; read by api_options and json_option
    click.option("--url", envvar="MOCKX_URL", show_envvar=True, metavar="URL", help=URL_HELP),
    click.option("--api-key", envvar="MOCKX_API_KEY", show_envvar=True, metavar="KEY", help=KEY_HELP),
    click.option("--json", "as_json", is_flag=True, help=JSON_HELP),
    click.option("--account", metavar="NAME", help=ACCOUNT_HELP),
)


F = TypeVar("F", bound=Callable[..., Any])


@overload
def json_option(func: F) -> F: ...
@overload
def json_option(*, help: str = ...) -> Callable[[F], F]: ...
def json_option(func: Callable[..., Any] | None = None, *, help: str = JSON_HELP) -> Any:
    """``--json``; also on when it came before the subcommand (``mockx --json balance``)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, as_json: bool, **kwargs: Any) -> Any:
            return func(*args, as_json=bool(as_json or _from_group("as_json", as_json)), **kwargs)

        return click.option("--json", "as_json", is_flag=True, help=help)(wrapper)

    return decorate(func) if func is not None else decorate


class DecimalText(click.ParamType[str, Any]):
    """A positive decimal number given on the command line, kept as the text typed (sent to the API exactly)."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip().replace("_", "")
        what = (param.name or "the number") if param is not None else "the number"
        try:
            number = Decimal(text)
        except InvalidOperation:
            self.fail(f"{value!r} is not a number ({what} must be a positive number)", param, ctx)
        if not number.is_finite() or number <= 0:
            self.fail(f"{what} must be positive, got {value}", param, ctx)
        return text


NUMBER = DecimalText()


class Count(click.ParamType[int, Any]):
    """A whole number of items, at least 1 (``--tail 20``)."""

    name = "N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            number = value
        else:
            try:
                number = int(str(value).strip().replace("_", ""))
            except ValueError:
                self.fail(f"expected a whole number of items such as 20, got {value!r}", param, ctx)
        if number < 1:
            self.fail(f"must be at least 1, got {number}", param, ctx)
        return number


COUNT = Count()

NEGATIVE = re.compile(r"-(\d[\d_]*\.?\d*|\.\d+)([eE][-+]?\d+)?")


class NumberCommand(click.RichCommand):
    """A command whose arguments may be typed negative (``mockx fund USDT -5``): the argument's own type then
    says what is wrong ("amount must be positive"), where click would say ``No such option: -5``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if any(NEGATIVE.fullmatch(arg) for arg in args):
            known = {name for param in self.get_params(ctx) for name in (*param.opts, *param.secondary_opts)}
            for arg in args:
                if arg == "--":
                    break
                name = arg.split("=", 1)[0]
                if arg.startswith("-") and not NEGATIVE.fullmatch(arg) and name not in known:
                    raise click.NoSuchOption(name, possibilities=sorted(known), ctx=ctx)
            ctx.ignore_unknown_options = True  # every other dash is a number: it stays a positional argument
        return super().parse_args(ctx, args)
