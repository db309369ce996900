# MockX tasks: each recipe is a thin wrapper and prints the command it runs; `just` alone lists them.
# Compose recipes use `docker compose`; `COMPOSE="podman compose" just compose-up` uses Podman, and
# `COMPOSE_PROFILES=feed just compose-up` (or that line in .env) adds the synthetic price feed.

set positional-arguments
set shell := ["bash", "-uc"]

venv := ".venv/bin"
compose := env("COMPOSE", "docker compose")
pins := "--python-version 3.11 --python-platform linux --generate-hashes --no-header --quiet"

# List the recipes.
default:
    @just --list

# Run the whole exchange locally: embedded Valkey + API + worker (e.g. `just up --feed synthetic`).
up *args:
    {{ venv }}/mockx up "$@"

# Run the tests (e.g. `just test tests/deploy -x`).
test *args:
    {{ venv }}/python -m pytest "$@"

# Lint, check formatting and type-check, as CI does.
lint:
    {{ venv }}/ruff check .
    {{ venv }}/ruff format --check .
    {{ venv }}/mypy

# Format the code and apply the safe lint fixes.
fmt:
    {{ venv }}/ruff format .
    {{ venv }}/ruff check --fix .

# Run a benchmark from bench/ (e.g. `just bench ticks`, `just bench orders`).
bench name="orders" *args:
    {{ venv }}/python bench/{{ name }}.py "${@:2}"

# Tail the exchange's live events (e.g. `just watch --json --since all`).
watch *args:
    {{ venv }}/mockx watch "$@"

# Build the image and start Valkey, the API and the workers in the background (e.g. `just compose-up --wait`).
compose-up *args:
    {{ compose }} up -d --build "$@"

# Stop the compose deployment (`just compose-down -v` also deletes the Valkey volume).
compose-down *args:
    {{ compose }} down "$@"

# Follow the logs of the compose services (e.g. `just logs worker`).
logs *args:
    {{ compose }} logs -f "$@"

# Re-pin the image's dependencies after a change to pyproject.toml (needs uv: https://docs.astral.sh/uv/).
lock:
    uv pip compile pyproject.toml {{ pins }} -o deploy/requirements.txt
    printf '%s\n' 'setuptools>=69' 'wheel' | uv pip compile - {{ pins }} --no-annotate -o deploy/build-requirements.txt
