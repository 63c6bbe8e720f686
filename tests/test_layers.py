"""Imports run one way: each package of ``gatewatch`` imports only the packages below it.

The order, lowest first, is ``LAYERS``. Every import counts, also one inside a function: a
deferred import still ties the packages together. Within a package, modules import each other
freely.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.shared_files import ROOT

PACKAGE = ROOT / "gatewatch"

#: Lowest first. A package may import the ones before it, never one after it.
LAYERS = (
    "settings",  # the typed settings object: imports nothing of gatewatch
    "plates",  # parsing plates, pure
    "models",  # schema, enums, migrations' helpers
    "migrations",
    "vision",  # camera ingest: decode, detect, track, gate, evidence encoding
    "audit",  # the trail, which every change below the web writes to
    "accounts",  # users and API tokens
    "crosscheck",  # rules and the service gathering facts
    "visitors",  # the visitor log and its imports
    "events",  # queries, reviews, stats
    "evidence",  # files, signing, export (which words verdicts), retention, integrity
    "alerts",  # the alert feed over the audit trail, webhooks and their outbox
    "camera",  # store, analysis, worker, supervisor, footage, replay
    "web",  # Flask pages and the JSON API
    "cli",  # the command line
    "__main__",
)
#: Libraries the web app never loads: it runs where no camera is, on gunicorn's small workers.
HEAVY = ("cv2", "av", "torch", "ultralytics", "openvino", "onnxruntime", "rapidocr_onnxruntime")
#: Modules outside the web package that the web app will need, so they must load without ``HEAVY``:
#: the event store's core (crossings posted by other systems), the gate geometry (a line preview) and
#: where the workers publish their live pictures.
PURE = ("gatewatch.camera.recording", "gatewatch.vision.gate", "gatewatch.plates", "gatewatch.vision.live_files")
#: What ``gatewatch.vision`` may import of ``gatewatch.models``: the enums, never the tables.
VISION_MODELS = {"gatewatch.models.enums"}


def _package_of(module: str) -> str:
    """``gatewatch.camera.store`` -> ``camera``; ``gatewatch.settings`` -> ``settings``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _module_name(path: Path, root: Path = ROOT) -> str:
    relative = path.relative_to(root).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def _is_module(name: str, root: Path) -> bool:
    path = root.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """(line, module) of every ``gatewatch`` import in the file, relative ones resolved.

    ``from gatewatch.audit import trail`` names the module ``gatewatch.audit.trail``;
    ``from gatewatch.audit.trail import record`` names it too.
    """
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}", root) else base
                     for alias in node.names]
        else:
            continue
        for name in names:
            if name == "gatewatch" or name.startswith("gatewatch."):
                yield node.lineno, name


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "versions" not in p.parts)


def test_every_package_has_a_place_in_the_order() -> None:
    packages = {_package_of(_module_name(path)) for path in _sources()} - {"__init__"}
    packages.discard("")
    assert sorted(packages - set(LAYERS)) == []


def test_no_package_imports_one_above_it() -> None:
    upward = []
    for path in _sources():
        importer = _package_of(_module_name(path))
        if importer not in LAYERS:
            continue
        for line, name in _imports(path):
            imported = _package_of(name)
            if imported in LAYERS and LAYERS.index(imported) > LAYERS.index(importer):
                upward.append(f"{path.relative_to(ROOT)}:{line} ({importer}) imports {name}")
    assert upward == []


def test_vision_knows_nothing_of_tables_database_or_web() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in _sources()
        if _package_of(_module_name(path)) == "vision"
        for line, name in _imports(path)
        if _package_of(name) == "models" and name not in VISION_MODELS
    ]
    assert found == []


PROBE = """
import importlib, json, pkgutil, sys
import gatewatch.web
for module in pkgutil.walk_packages(gatewatch.web.__path__, "gatewatch.web."):
    importlib.import_module(module.name)
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def test_the_web_app_and_the_pieces_it_needs_load_no_vision_library() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE, *PURE], cwd=ROOT, capture_output=True, text=True,
                            check=True)
    loaded = json.loads(result.stdout)
    assert {"gatewatch.web.app", "gatewatch.web.api.openapi", *PURE} <= set(loaded)
    assert [name for name in loaded if name.split(".")[0] in HEAVY] == []


def test_the_walk_finds_deferred_and_relative_imports(tmp_path: Path) -> None:
    """Or the tests above would pass on anything."""
    for name in ("models/enums", "camera/store", "web/app"):
        target = tmp_path / "gatewatch" / f"{name}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("")
    module = tmp_path / "gatewatch" / "audit" / "sample.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from gatewatch.models import enums\n"
        "def later():\n"
        "    from gatewatch.camera.store import EventStore\n"
        "    from ..web.app import create_app\n"
    )
    found = [name for _line, name in _imports(module, tmp_path)]
    assert found == ["gatewatch.models.enums", "gatewatch.camera.store", "gatewatch.web.app"]
