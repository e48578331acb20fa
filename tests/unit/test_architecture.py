"""The shape of the repository: services talk only through topics, and every service reads the same way."""

import ast
from pathlib import Path

import pytest

from recaudo.catalogue import render
from recaudo_common.testing import REPOSITORY_ROOT

pytestmark = pytest.mark.unit
SERVICES = ("ingest", "segmentation", "outreach", "payments", "reporting")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_another(service: str) -> None:
    others = set(SERVICES) - {service}
    root = REPOSITORY_ROOT / "services" / service
    offenders = {str(p.relative_to(REPOSITORY_ROOT)): sorted(imported_modules(p) & others)
                 for p in root.rglob("*.py") if imported_modules(p) & others}
    assert offenders == {}


def test_common_imports_no_service() -> None:
    root = REPOSITORY_ROOT / "libs" / "common"
    offenders = [str(p) for p in root.rglob("*.py") if imported_modules(p) & set(SERVICES)]
    assert offenders == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_shape(service: str) -> None:
    """settings, domain, consumers and main once per service; routes, handlers and store at the top or, in a
    service with several features, inside each feature's package."""
    package = REPOSITORY_ROOT / "services" / service / "src" / service
    for name in ("settings.py", "consumers.py", "main.py", "domain/__init__.py"):
        assert (package / name).is_file(), f"{service} lacks {name}"
    for layer in ("store.py", "handlers.py"):
        assert list(package.rglob(layer)), f"{service} has no {layer}"
    assert list(package.rglob("api.py")) + list(package.rglob("routes.py")), f"{service} has no routes"
    assert (REPOSITORY_ROOT / "services" / service / "migrations" / "env.py").is_file()
    domain = package / "domain"
    forbidden = {"sqlalchemy", "fastapi", "asyncpg", "aiokafka", "httpx"}
    for module in domain.rglob("*.py"):
        assert not imported_modules(module) & forbidden, f"{module} does I/O; the domain must stay pure"


def test_every_module_says_what_it_is_for() -> None:
    for root in ("libs", "services"):
        for path in (REPOSITORY_ROOT / root).rglob("src/**/*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            assert ast.get_docstring(tree), f"{path.relative_to(REPOSITORY_ROOT)} has no module docstring"


def test_event_catalogue_is_generated_and_current() -> None:
    written = (REPOSITORY_ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert written == render() + "\n", "docs/events.md is stale: run `make catalogue`"


def routers_built_in_a_function(path: Path) -> list[str]:
    """The functions of a module that create an `APIRouter(...)` (a router built per call, closing over what it got)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return sorted({function.name for function in ast.walk(tree)
                   if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
                   for call in ast.walk(function)
                   if isinstance(call, ast.Call) and (
                       (isinstance(call.func, ast.Name) and call.func.id == "APIRouter")
                       or (isinstance(call.func, ast.Attribute) and call.func.attr == "APIRouter"))})


def test_routers_are_declared_at_module_level() -> None:
    """Routes get the platform, the caller and the client company through dependencies, never by closure."""
    offenders = {str(p.relative_to(REPOSITORY_ROOT)): names
                 for root in ("libs", "services") for p in (REPOSITORY_ROOT / root).rglob("src/**/*.py")
                 if (names := routers_built_in_a_function(p))}
    assert offenders == {}


def test_a_router_built_in_a_function_is_caught(tmp_path: Path) -> None:
    module = tmp_path / "api.py"
    module.write_text("from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n"
                      "def build_router(platform):\n    inner = APIRouter(prefix='/v1')\n    return inner\n")
    assert routers_built_in_a_function(module) == ["build_router"]


def source_modules() -> list[Path]:
    return [p for root in ("libs", "services") for p in sorted((REPOSITORY_ROOT / root).rglob("src/**/*.py"))]


def test_no_module_passes_450_lines() -> None:
    """A newcomer reads any module in one sitting; a longer one is two features or two layers in one file."""
    long = {str(p.relative_to(REPOSITORY_ROOT)): n for p in source_modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450}
    assert long == {}


BELOW_THE_EDGE = {"fastapi", "starlette"}
EDGE_ERRORS = {"ProblemError", "HTTPException", "not_found", "forbidden", "conflict"}


def is_below_the_edge(path: Path) -> bool:
    """Handlers, stores and the domain of a service: the layers that know nothing of HTTP."""
    parts = path.relative_to(REPOSITORY_ROOT).parts
    return parts[0] == "services" and (path.stem in {"handlers", "store"} or "domain" in parts)


def edge_names_imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = imported_modules(path) & BELOW_THE_EDGE
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in {"recaudo_common.errors", "fastapi", "starlette.exceptions"}:
            names.update(alias.name for alias in node.names if alias.name in EDGE_ERRORS)
    return names


def test_handlers_and_stores_raise_domain_errors_not_http() -> None:
    """Routes map recaudo_common.domain_errors to problem details; below them nothing speaks HTTP."""
    offenders = {str(p.relative_to(REPOSITORY_ROOT)): sorted(names) for p in source_modules()
                 if is_below_the_edge(p) and (names := edge_names_imported(p))}
    assert offenders == {}


FREE_FORM = ("dict[str, Any]", "Mapping[str, Any]", "dict[str, object]", "Mapping[str, object]")


def free_form_uses(path: Path) -> int:
    """How often a module passes an untyped mapping: the spellings above, and any alias defined as one of them
    (`JSON = dict[str, Any]`), each use counted."""
    source = path.read_text(encoding="utf-8")
    aliases = {node.targets[0].id for node in ast.walk(ast.parse(source))
               if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
               and any(ast.unparse(node.value).replace("typing.", "") == f for f in FREE_FORM)}
    count = sum(source.count(f) for f in FREE_FORM) - len(aliases)  # an alias's own definition is not a use
    for alias in aliases:
        count += sum(1 for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name) and node.id == alias
                     and isinstance(node.ctx, ast.Load))
    return count


def test_values_between_layers_are_typed() -> None:
    """Untyped mappings only where the data really is free-form JSON: at most 44 across the services (40 until
    PayU's Reports API orders, read for refunds and the reconciliation, moved into gateways/domain/payu.py as free
    JSON; reading them into typed orders at the edge would bring it back to 37)."""
    uses = {str(p.relative_to(REPOSITORY_ROOT)): n for p in sorted((REPOSITORY_ROOT / "services").rglob("src/**/*.py"))
            if (n := free_form_uses(p))}
    assert sum(uses.values()) <= 44, uses


def test_free_form_uses_count_aliases(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from typing import Any\nJSON = dict[str, Any]\n\ndef f(a: JSON, b: dict[str, object]) -> JSON:\n"
                      "    return a\n")
    assert free_form_uses(module) == 3
