"""An e-mail cell's entries are found in time linear in its length, whatever a hostile file puts in it, and as the
pattern of d4c5a15 found them (a display name, quoted or not, with separators; the name dropped)."""

from __future__ import annotations

import re
import time
from email.utils import parseaddr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.domain.emails import BETWEEN_EMAILS, email_entries

pytestmark = pytest.mark.unit

# Cells of quotes, brackets, separators and words: each start after a separator read again to the end of the cell
# by a backtracking pattern made the finder quadratic (a 25,400-character cell of ' "a,a,a,...' took 13 s).
HOSTILE = {
    "an unclosed quote then names": ' "' + "a," * 12_700,
    "names before an unclosed bracket": "a " * 12_700 + "<",
    "separators before an unclosed bracket": ", " * 12_700 + "<a",
    "quotes and commas": '", ' * 8_500,
    "escaped quotes": ' "' + '\\"' * 12_700,
    "brackets never closed": ", <a" * 6_350,
    "words before an at sign": "Ana Gómez, " * 2_300 + "@",
    "names before a bracket never closed": "a " * 6_350 + "<" + "x" * 12_700,
}


@pytest.mark.parametrize("cell", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_cell_is_read_in_time_linear_in_its_length(cell: str) -> None:
    # A row's e-mail cell is at most 254 characters, so a file of such rows, read quadratically, costs a hundred
    # times what it should; a hundred times longer cell shows the shape of the cost, not the machine's speed.
    started = time.perf_counter()
    email_entries(cell)
    assert time.perf_counter() - started < 1.0


# The pattern d4c5a15 found the entries with: the reference the finder must answer as.
_NAMED = re.compile(r'(?:^|(?<=[\s;,/|]))(?:"(?:[^"\\]|\\.)*"|[^<>@"])*(<[^<>;,/|]*>)')


def _as_the_pattern_read_it(text: str) -> list[str]:
    entries: list[str] = []
    end = 0
    for named in _NAMED.finditer(text):
        entries.extend(BETWEEN_EMAILS.split(text[end:named.start()]))
        entries.append(parseaddr(named[1])[1] or named[1])
        end = named.end()
    entries.extend(BETWEEN_EMAILS.split(text[end:]))
    return entries


@settings(max_examples=3000)
@given(st.text(alphabet='a@.x <>",;/|\\\n\t', max_size=30))
def test_the_entries_are_those_the_pattern_found(cell: str) -> None:
    assert email_entries(cell) == _as_the_pattern_read_it(cell)


@pytest.mark.parametrize(("cell", "entries"), [
    ('"Gómez, Ana" <ana@x.co>; luis@x.co', ["ana@x.co", "luis@x.co"]),
    ("Gómez, Ana <ana@x.co>", ["ana@x.co"]),
    ("ana@x.co, Luis <luis@x.co>", ["ana@x.co", "luis@x.co"]),
    ("Ana <ana@x.co", ["Ana", "<ana@x.co"]),
    ('x@y "Ana <ana@x.co>" <luis@x.co>', ["x@y", "luis@x.co"]),
])
def test_a_named_entry_is_its_address(cell: str, entries: list[str]) -> None:
    assert [e for e in email_entries(cell) if e] == entries
