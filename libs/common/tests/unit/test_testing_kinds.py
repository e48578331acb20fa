"""The test-kind guard: a collected test of no kind stops the run instead of being left out by `-m`."""

from typing import Any

import pytest

from recaudo_common.testing_kinds import pytest_collection_modifyitems

pytestmark = pytest.mark.unit


class _Collected:
    def __init__(self, nodeid: str, *marks: str) -> None:
        self.nodeid, self.marks = nodeid, marks

    def get_closest_marker(self, name: str) -> Any:
        return name if name in self.marks else None


def test_tests_of_a_kind_pass_and_one_of_no_kind_stops_the_run_naming_it() -> None:
    marked = [_Collected("a.py::u", "unit"), _Collected("b.py::i", "integration", "slow"), _Collected("c.py::e", "e2e")]
    pytest_collection_modifyitems(marked)  # type: ignore[arg-type]
    with pytest.raises(pytest.UsageError, match=r"1 tests are of no kind .* d\.py::forgotten"):
        pytest_collection_modifyitems([*marked, _Collected("d.py::forgotten", "slow")])  # type: ignore[list-item]
