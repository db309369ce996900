"""`mockx serve`: refuses bad settings in one line, serves the API, stops cleanly on SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port

MOCKX = [sys.executable, "-c", "from cli.main import main; main()"]


def _serve(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen(
        [*MOCKX, "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"mockx serve exited {process.returncode}: {process.communicate()}")
        try:
            if httpx.get(f"{url}/livez", timeout=0.5).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("mockx serve did not answer within 20 s")


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, err
    assert "Traceback" not in err, err
    return out, err


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"API_KEY": ""}, "API_KEY"),
        ({"API_KEY": "invalid-key"}, "API_KEY"),
        ({"API_KEY": "k", "COMMISSION": "lots"}, "COMMISSION"),
        ({"API_KEY": "k", "REDIS_URL": "http://nope"}, "REDIS_URL"),
    ],
)
def test_bad_settings_print_one_line_and_exit_2(
    subprocess_env: dict[str, str], env: dict[str, str], words: str
) -> None:
    done = subprocess.run(
        [*MOCKX, "serve"],
        env={**subprocess_env, "TEST_ENV": "false", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert words in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 3  # one sentence, wrapped at most by the terminal width


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_serves_the_api_and_stops_on_sigint(subprocess_env: dict[str, str], server: str) -> None:
    if server == "granian":
        pytest.importorskip("granian")
    env = {**subprocess_env, "TEST_ENV": "false", "API_KEY": "serve-test-key"}
    process, url = _serve(env, "--server", server)
    try:
        assert httpx.get(f"{url}/balance").status_code == 401
        key = {"x-api-key": "serve-test-key"}
        r = httpx.post(f"{url}/admin/fund", json={"asset": "USDT", "amount": 5}, headers=key)
        assert r.status_code == 200
        assert r.json()["free"] == 5
        assert httpx.get(f"{url}/docs").status_code == 404
    finally:
        _stop(process)


def test_without_redis_url_it_runs_the_embedded_valkey(subprocess_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in subprocess_env.items() if k != "REDIS_URL"}
    env["MOCKX_DATA_DIR"] = str(tmp_path / "data")
    process, url = _serve(env)
    try:
        assert httpx.post(f"{url}/admin/fund", json={"asset": "USDT", "amount": 7}).status_code == 200
        assert httpx.get(f"{url}/docs", follow_redirects=True).status_code == 200  # TEST_ENV=true: docs on
        url_file = tmp_path / "data" / "valkey" / "valkey.url"
        assert url_file.read_text().startswith("unix://")
    finally:
        _stop(process)
    assert not url_file.exists()  # the server it started is stopped with it
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert str(tmp_path / "data") not in processes
