"""The platform's row and event ids: drawn later, sorted later, so an index takes each new row at its end."""

import pytest

from recaudo_common.ids import time_ordered_id

pytestmark = pytest.mark.unit


def test_ids_drawn_one_after_another_sort_in_that_order_even_within_a_millisecond() -> None:
    ids = [time_ordered_id() for _ in range(20_000)]  # many share a millisecond
    assert {i.version for i in ids} == {7}
    assert ids == sorted(ids, key=lambda i: i.bytes)
    assert len(set(ids)) == len(ids)
