"""A pytest plugin: every test is of a kind `make test` runs (unit, integration or e2e), so none is collected
and then silently left out by the markers scripts/test.sh selects (three test files were, for sessions)."""

from __future__ import annotations

import pytest

KINDS = ("unit", "integration", "e2e")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects what it does not select
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmarked = [item.nodeid for item in items if not any(item.get_closest_marker(kind) for kind in KINDS)]
    if unmarked:
        raise pytest.UsageError(
            f"{len(unmarked)} tests are of no kind ({', '.join(KINDS)}) and `make test` would never run them; mark "
            f"each module (`pytestmark = pytest.mark.unit`): " + ", ".join(unmarked[:10]))
