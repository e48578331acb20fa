"""What a message template may call, and with what arguments: the text methods allowed, and the checks that
refuse, before they run, the filters and methods whose arguments ask for far more output than their input."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any, NamedTuple

import jinja2

from outreach.domain.template_meter import Exceeded, Meter

# ------------------------------------------------------------------ what a template may call, and with what

_STR_METHODS = frozenset(
    "capitalize casefold center count endswith expandtabs find index isalnum isalpha isascii isdecimal isdigit "
    "isidentifier islower isnumeric isprintable isspace istitle isupper join ljust lower lstrip partition "
    "removeprefix removesuffix replace rfind rindex rjust rpartition rsplit rstrip split splitlines startswith "
    "strip swapcase title upper zfill".split())
OTHER_METHODS = {dict: frozenset({"get", "items", "keys", "values"}), list: frozenset({"count", "index"}),
                  tuple: frozenset({"count", "index"})}
VALUE_TYPES = (str, bytes, int, float, complex, list, tuple, dict, set, frozenset)
_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_WIDTHS = re.compile(r"\d+")


class Arguments(NamedTuple):
    """The arguments a template passes to a filter, test or method, as Python would bind them (a tuple: one is
    made for every checked call, so it must cost next to nothing)."""

    positional: tuple[Any, ...]
    named: Mapping[str, Any]

    def get(self, index: int, name: str, default: Any) -> Any:
        """The argument at `index`, else the one named `name`, else `default`."""
        return self.positional[index] if len(self.positional) > index else self.named.get(name, default)


def _width(meter: Meter, width: Any) -> None:
    if isinstance(width, int) and width > meter.budget.output_bytes:
        raise Exceeded(f"a width of more than {meter.budget.output_bytes}")


def _replaced_size(text: str, old: Any, new: Any, count: Any) -> int:
    if not (isinstance(old, str) and isinstance(new, str)):
        return len(text)  # str.replace refuses it itself
    times = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    return len(text) + times * max(0, len(new) - len(old))


def check_printf(meter: Meter, fmt: str) -> None:
    for width, precision in _PRINTF.findall(fmt):
        for number in (width, precision):
            if number == "*":
                raise Exceeded("a width given as an argument (*)")
            if number:
                _width(meter, int(number))


def check_format(meter: Meter, fmt: str) -> None:
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format refuses it itself
    for _literal, _field, spec, _conversion in fields:
        if spec and "{" in spec:
            raise Exceeded("a width given as an argument ({})")
        for number in _WIDTHS.findall(spec or ""):
            _width(meter, int(number))


def check_str_method(meter: Meter, text: str, name: str, arguments: Arguments) -> None:
    if name not in _STR_METHODS:
        raise jinja2.exceptions.SecurityError(f"the text method {name!r} is not available in templates")
    if name in {"center", "ljust", "rjust", "zfill"}:
        _width(meter, arguments.get(0, "width", 0))
    elif name == "expandtabs":
        tab = arguments.get(0, "tabsize", 8)
        meter.room(len(text) + text.count("\t") * (tab if isinstance(tab, int) else 0), "a text")
    elif name == "replace":
        meter.room(_replaced_size(text, arguments.get(0, "old", ""), arguments.get(1, "new", ""),
                                  arguments.get(2, "count", -1)), "a text")


# ------------------------------------------------------------------ filters and tests, counted and bounded

def bounded_join(meter: Meter, items: list[Any], separator: str) -> None:
    size = 0
    for item in items:
        size += len(str(item)) + len(separator)
        meter.room(size, "a joined text")


# The filters check_filter looks at; every other filter runs unchecked (beyond its step and its result's size).
CHECKED_FILTERS = frozenset({"center", "indent", "wordwrap", "format", "replace", "batch", "slice"})


def check_filter(meter: Meter, name: str, value: Any, arguments: Arguments) -> None:
    """The filters whose arguments can ask for far more output than their input: checked before they run."""
    if name == "center":
        _width(meter, arguments.get(0, "width", 80))
    elif name == "indent":
        width = arguments.get(0, "width", 4)
        per_line = width if isinstance(width, int) else len(str(width))
        text = str(value)
        meter.room(len(text) + (text.count("\n") + 1) * per_line, "an indented text")
    elif name == "wordwrap":
        wrapstring = arguments.get(2, "wrapstring", None) or "\n"
        meter.room(len(str(value)) * (1 + len(str(wrapstring))), "a wrapped text")
    elif name == "format":
        check_printf(meter, str(value))
    elif name == "replace":
        meter.room(_replaced_size(str(value), arguments.get(0, "old", ""), arguments.get(1, "new", ""),
                                  arguments.get(2, "count", None)), "a text")
    elif name in {"batch", "slice"}:
        _width(meter, arguments.get(0, "linecount" if name == "batch" else "slices", 0))

