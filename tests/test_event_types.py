"""Every place that names the event types takes them from the one union, app.engine.events."""

from pathlib import Path

from app.engine.events import EVENT_TYPES
from cli.commands import watch

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_the_union_holds_every_type_the_lua_writes() -> None:
    lua = Path(__file__).resolve().parents[1] / "app" / "store" / "lua"
    written = set()
    for path in lua.rglob("*.lua"):
        text = path.read_text(encoding="utf-8")
        written |= {t for t in EVENT_TYPES if f"'{t}'" in text}
    assert written == set(EVENT_TYPES)


def test_mockx_watch_styles_and_documents_every_type() -> None:
    assert set(watch.TYPE_STYLES) == set(EVENT_TYPES)
    doc = " ".join((watch.watch.help or "").split())
    assert ", ".join(EVENT_TYPES) in doc


def test_the_readme_lists_every_type() -> None:
    missing = [t for t in EVENT_TYPES if f"`{t}`" not in README]
    assert not missing, f"event types missing from the README: {missing}"
