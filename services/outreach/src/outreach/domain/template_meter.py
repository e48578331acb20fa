"""A message template's render budget and the meter that holds a render to it: steps, wall time, and the size of
every value built and printed. The failures a template can raise (TemplateError, TemplateTooExpensive)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jinja2.utils import Namespace

MAX_DEPTH = 32  # lists in lists in ...: far more than a message needs, far less than a stack holds
MAX_INT_BITS = 4096  # no message prints a number of more than ~1,200 digits


class TemplateError(ValueError):
    """A template that cannot be saved or rendered; `code` is the problem code the API answers with and
    `reason` a short text without any of the values rendered (safe for logs, events and the audit trail)."""

    code = "invalid_template"

    def __init__(self, detail: str, reason: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason or detail


class TemplateTooExpensive(TemplateError):
    """A render that broke its budget: too many steps, too long, or a value or output too large."""

    code = "template_too_expensive"


@dataclass(frozen=True)
class RenderBudget:
    seconds: float = 0.2
    iterations: int = 10_000  # loop iterations, calls and filters, counted together across nesting
    output_bytes: int = 65_536  # the output in UTF-8, and the largest text or collection a render may build


class Exceeded(BaseException):
    """A broken budget. Not an Exception on purpose: no filter's or Jinja's own `except Exception` can swallow
    it on its way out of the render."""


@dataclass
class Meter:
    budget: RenderBudget
    deadline: float
    clock: Callable[[], float]
    steps: int = 0
    produced: int = 0
    built: int = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps > self.budget.iterations:
            raise Exceeded(f"more than {self.budget.iterations} loop iterations and calls")
        if self.clock() > self.deadline:
            raise Exceeded(f"longer than {self.budget.seconds * 1000:.0f} ms to render")

    def sized(self, value: Any) -> Any:
        """Caps one value, and all the values a render builds together (what it may hold in memory at once)."""
        self.built += weigh(value, self.budget.output_bytes)
        if self.built > 16 * self.budget.output_bytes:
            raise Exceeded(f"more than {16 * self.budget.output_bytes} characters built in all")
        return value

    def room(self, size: int, what: str) -> None:
        if size > self.budget.output_bytes:
            raise Exceeded(f"{what} of more than {self.budget.output_bytes} characters")

    def produce(self, text: str) -> str:
        """Text printed anywhere (the message, a macro, a captured block) counts, so no block grows unseen."""
        self.room(len(text), "a printed value")
        self.produced += len(text)
        if self.produced > 4 * self.budget.output_bytes:
            raise Exceeded(f"more than {4 * self.budget.output_bytes} characters printed in all")
        return text


METER: contextvars.ContextVar[Meter] = contextvars.ContextVar("template_meter")


def current_meter() -> Meter:
    try:
        return METER.get()
    except LookupError:
        raise Exceeded("a template renders only through render_texts") from None


def weigh(value: Any, limit: int) -> int:
    """Characters plus items of a value, as often as printing it would count them (a list holding the same list
    twice counts it twice), each distinct collection walked once; given up as soon as it passes `limit`."""
    known: dict[int, int] = {}

    def walk(item: Any, depth: int) -> int:
        if isinstance(item, str | bytes):
            return len(item)
        if isinstance(item, int) and item.bit_length() > MAX_INT_BITS:
            raise Exceeded(f"a number of more than {MAX_INT_BITS} bits")
        if not isinstance(item, list | tuple | set | frozenset | dict | Namespace):
            return 1  # numbers, ranges, generators, macros, loop objects: small, or counted as they are used
        if id(item) in known:
            return known[id(item)]
        if depth >= MAX_DEPTH:  # also where a namespace holding itself ends
            raise Exceeded(f"values nested more than {MAX_DEPTH} deep")
        members: Any = object.__getattribute__(item, "_Namespace__attrs") if isinstance(item, Namespace) else item
        total = 1 + len(members)
        for member in (x for pair in members.items() for x in pair) if isinstance(members, dict) else members:
            if total > limit:
                break
            total += walk(member, depth + 1)
        if total > limit:
            raise Exceeded(f"a value of more than {limit} characters")
        known[id(item)] = total
        return total

    total = walk(value, 0)
    if total > limit:
        raise Exceeded(f"a value of more than {limit} characters")
    return total

