"""The sandbox message templates render in: every loop iteration, call and filter counts against one budget per
render (steps and wall time, checked inside the render), and every value and the output are capped in size."""

from __future__ import annotations

import contextvars
import re
import string
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.filters import make_attrgetter
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace, pass_context

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


class _Exceeded(BaseException):
    """A broken budget. Not an Exception on purpose: no filter's or Jinja's own `except Exception` can swallow
    it on its way out of the render."""


@dataclass
class _Meter:
    budget: RenderBudget
    deadline: float
    clock: Callable[[], float]
    steps: int = 0
    produced: int = 0
    built: int = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps > self.budget.iterations:
            raise _Exceeded(f"more than {self.budget.iterations} loop iterations and calls")
        if self.clock() > self.deadline:
            raise _Exceeded(f"longer than {self.budget.seconds * 1000:.0f} ms to render")

    def sized(self, value: Any) -> Any:
        """Caps one value, and all the values a render builds together (what it may hold in memory at once)."""
        self.built += weigh(value, self.budget.output_bytes)
        if self.built > 16 * self.budget.output_bytes:
            raise _Exceeded(f"more than {16 * self.budget.output_bytes} characters built in all")
        return value

    def room(self, size: int, what: str) -> None:
        if size > self.budget.output_bytes:
            raise _Exceeded(f"{what} of more than {self.budget.output_bytes} characters")

    def produce(self, text: str) -> str:
        """Text printed anywhere (the message, a macro, a captured block) counts, so no block grows unseen."""
        self.room(len(text), "a printed value")
        self.produced += len(text)
        if self.produced > 4 * self.budget.output_bytes:
            raise _Exceeded(f"more than {4 * self.budget.output_bytes} characters printed in all")
        return text


_METER: contextvars.ContextVar[_Meter] = contextvars.ContextVar("template_meter")


def _meter() -> _Meter:
    try:
        return _METER.get()
    except LookupError:
        raise _Exceeded("a template renders only through render_texts") from None


def weigh(value: Any, limit: int) -> int:
    """Characters plus items of a value, as often as printing it would count them (a list holding the same list
    twice counts it twice), each distinct collection walked once; given up as soon as it passes `limit`."""
    known: dict[int, int] = {}

    def walk(item: Any, depth: int) -> int:
        if isinstance(item, str | bytes):
            return len(item)
        if isinstance(item, int) and item.bit_length() > MAX_INT_BITS:
            raise _Exceeded(f"a number of more than {MAX_INT_BITS} bits")
        if not isinstance(item, list | tuple | set | frozenset | dict | Namespace):
            return 1  # numbers, ranges, generators, macros, loop objects: small, or counted as they are used
        if id(item) in known:
            return known[id(item)]
        if depth >= MAX_DEPTH:  # also where a namespace holding itself ends
            raise _Exceeded(f"values nested more than {MAX_DEPTH} deep")
        members: Any = object.__getattribute__(item, "_Namespace__attrs") if isinstance(item, Namespace) else item
        total = 1 + len(members)
        for member in (x for pair in members.items() for x in pair) if isinstance(members, dict) else members:
            if total > limit:
                break
            total += walk(member, depth + 1)
        if total > limit:
            raise _Exceeded(f"a value of more than {limit} characters")
        known[id(item)] = total
        return total

    total = walk(value, 0)
    if total > limit:
        raise _Exceeded(f"a value of more than {limit} characters")
    return total


# ------------------------------------------------------------------ what a template may call, and with what

_STR_METHODS = frozenset(
    "capitalize casefold center count endswith expandtabs find index isalnum isalpha isascii isdecimal isdigit "
    "isidentifier islower isnumeric isprintable isspace istitle isupper join ljust lower lstrip partition "
    "removeprefix removesuffix replace rfind rindex rjust rpartition rsplit rstrip split splitlines startswith "
    "strip swapcase title upper zfill".split())
_OTHER_METHODS = {dict: frozenset({"get", "items", "keys", "values"}), list: frozenset({"count", "index"}),
                  tuple: frozenset({"count", "index"})}
_VALUE_TYPES = (str, bytes, int, float, complex, list, tuple, dict, set, frozenset)
_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_WIDTHS = re.compile(r"\d+")


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str, default: Any) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def _width(meter: _Meter, width: Any) -> None:
    if isinstance(width, int) and width > meter.budget.output_bytes:
        raise _Exceeded(f"a width of more than {meter.budget.output_bytes}")


def _replaced_size(text: str, old: Any, new: Any, count: Any) -> int:
    if not (isinstance(old, str) and isinstance(new, str)):
        return len(text)  # str.replace refuses it itself
    times = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    return len(text) + times * max(0, len(new) - len(old))


def _check_printf(meter: _Meter, fmt: str) -> None:
    for width, precision in _PRINTF.findall(fmt):
        for number in (width, precision):
            if number == "*":
                raise _Exceeded("a width given as an argument (*)")
            if number:
                _width(meter, int(number))


def _check_format(meter: _Meter, fmt: str) -> None:
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format refuses it itself
    for _literal, _field, spec, _conversion in fields:
        if spec and "{" in spec:
            raise _Exceeded("a width given as an argument ({})")
        for number in _WIDTHS.findall(spec or ""):
            _width(meter, int(number))


def _check_str_method(meter: _Meter, text: str, name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    if name not in _STR_METHODS:
        raise jinja2.exceptions.SecurityError(f"the text method {name!r} is not available in templates")
    if name in {"center", "ljust", "rjust", "zfill"}:
        _width(meter, _arg(args, kwargs, 0, "width", 0))
    elif name == "expandtabs":
        tab = _arg(args, kwargs, 0, "tabsize", 8)
        meter.room(len(text) + text.count("\t") * (tab if isinstance(tab, int) else 0), "a text")
    elif name == "replace":
        meter.room(_replaced_size(text, _arg(args, kwargs, 0, "old", ""), _arg(args, kwargs, 1, "new", ""),
                                  _arg(args, kwargs, 2, "count", -1)), "a text")


# ------------------------------------------------------------------ filters and tests, counted and bounded

def _bounded_join(meter: _Meter, items: list[Any], separator: str) -> None:
    size = 0
    for item in items:
        size += len(str(item)) + len(separator)
        meter.room(size, "a joined text")


def _check_filter(meter: _Meter, name: str, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """The filters whose arguments can ask for far more output than their input: checked before they run."""
    if name == "center":
        _width(meter, _arg(args, kwargs, 0, "width", 80))
    elif name == "indent":
        width = _arg(args, kwargs, 0, "width", 4)
        per_line = width if isinstance(width, int) else len(str(width))
        text = str(value)
        meter.room(len(text) + (text.count("\n") + 1) * per_line, "an indented text")
    elif name == "wordwrap":
        wrapstring = _arg(args, kwargs, 2, "wrapstring", None) or "\n"
        meter.room(len(str(value)) * (1 + len(str(wrapstring))), "a wrapped text")
    elif name == "format":
        _check_printf(meter, str(value))
    elif name == "replace":
        meter.room(_replaced_size(str(value), _arg(args, kwargs, 0, "old", ""), _arg(args, kwargs, 1, "new", ""),
                                  _arg(args, kwargs, 2, "count", None)), "a text")
    elif name in {"batch", "slice"}:
        _width(meter, _arg(args, kwargs, 0, "linecount" if name == "batch" else "slices", 0))


def _invoke(func: Callable[..., Any], context: Context, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    kind = getattr(getattr(func, "jinja_pass_arg", None), "name", None)
    if kind == "context":
        return func(context, *args, **kwargs)
    if kind == "eval_context":
        return func(context.eval_ctx, *args, **kwargs)
    if kind == "environment":
        return func(context.environment, *args, **kwargs)
    return func(*args, **kwargs)


def _counted_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    # Taking the context also keeps Jinja from running the filter at compile time, outside any budget.
    @pass_context
    def counted(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        meter = _meter()
        meter.step()
        if name == "join":
            value = list(value)  # a generator is read once, counted as it is
            attribute = _arg(args, kwargs, 1, "attribute", None)
            items = [make_attrgetter(context.environment, attribute)(v) for v in value] if attribute else value
            _bounded_join(meter, items, str(_arg(args, kwargs, 0, "d", "")))
        else:
            _check_filter(meter, name, value, args, kwargs)
        return meter.sized(_invoke(func, context, (value, *args), kwargs))

    counted.__name__ = name
    return counted


@pass_context
def _bounded_sum(context: Context, iterable: Iterable[Any], attribute: str | int | None = None, start: Any = 0) -> Any:
    """Jinja's sum adds in C, beyond any counter: here each addition is a step and its result is sized."""
    environment = context.environment
    assert isinstance(environment, BoundedEnvironment)
    get = make_attrgetter(environment, attribute) if attribute is not None else (lambda v: v)
    total = start
    for item in iterable:
        _meter().step()
        total = environment.call_binop(context, "+", total, get(item))
    return total


def _counted_test(func: Callable[..., Any]) -> Callable[..., Any]:
    @pass_context
    def counted(context: Context, *args: Any, **kwargs: Any) -> Any:
        _meter().step()
        return _invoke(func, context, args, kwargs)

    return counted


class _BoundedNamespace(Namespace):
    """`namespace()`: the one value a template can change across loop iterations, so each change is sized."""

    def __setitem__(self, name: str, value: Any) -> None:
        super().__setitem__(name, _meter().sized(value))


# ------------------------------------------------------------------ compiled code that counts

class _CountingCodeGenerator(CodeGenerator):
    """Routes the template's own loops, joins, literals and text through the environment's counters."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        if node.recursive:
            self.fail("recursive loops are not available in message templates", node.lineno)
        node.iter = nodes.Call(nodes.EnvironmentAttribute("counted_iteration"), [node.iter], [], None, None,
                               lineno=node.iter.lineno)
        super().visit_For(node, frame)

    def _unavailable(self, node: nodes.Node, frame: Frame) -> None:
        self.fail("include, import and extends are not available in message templates", node.lineno)

    visit_Include = visit_Import = visit_FromImport = visit_Extends = _unavailable

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")

    def _sized(self, visit: Callable[[Any, Frame], None], node: nodes.Node, frame: Frame) -> None:
        self.write("environment.sized_literal(")
        visit(node, frame)
        self.write(")")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._sized(super().visit_List, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._sized(super().visit_Dict, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx == "store":  # `{% for a, b in ... %}`: a target, not a value
            super().visit_Tuple(node, frame)
        else:
            self._sized(super().visit_Tuple, node, frame)

    def _output_const_repr(self, group: Iterable[Any]) -> str:
        return f"environment.constant_text({super()._output_const_repr(group)})"


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox (no private attributes, no changing lists or dicts) with every operation that
    can run long or build large routed through the render's meter."""

    code_generator_class = _CountingCodeGenerator
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=self._finalize, **options)
        for name in ("lipsum",):  # builds text in a loop of its own, beyond any counter
            self.globals.pop(name, None)
        self.globals["namespace"] = _BoundedNamespace
        self.filters = {name: _counted_filter(name, f) for name, f in self.filters.items()}
        self.filters["sum"] = _counted_filter("sum", _bounded_sum)
        self.tests = {name: _counted_test(cast(Callable[..., Any], t)) for name, t in self.tests.items()}

    @staticmethod
    @pass_context
    def _finalize(context: Context, value: Any) -> str:
        meter = _meter()
        return meter.produce(str(meter.sized(value)))

    def constant_text(self, text: str) -> str:
        return _meter().produce(text)

    def counted_iteration(self, iterable: Iterable[Any]) -> Iterator[Any]:
        meter = _meter()
        for item in iterable:
            meter.step()
            yield item

    def bounded_concat(self, parts: tuple[Any, ...]) -> str:
        meter = _meter()
        texts = [str(meter.sized(p)) for p in parts]
        meter.room(sum(map(len, texts)), "a joined text")
        return "".join(texts)

    def sized_literal(self, value: Any) -> Any:
        return _meter().sized(value)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        meter = _meter()
        if operator == "*":
            ints = [x for x in (left, right) if isinstance(x, int)]
            others = [x for x in (left, right) if not isinstance(x, int)]
            if len(ints) == 2:
                if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                    raise _Exceeded(f"a number of more than {MAX_INT_BITS} bits")
            elif len(ints) == 1 and isinstance(others[0], str | list | tuple):
                meter.room(weigh(others[0], meter.budget.output_bytes) * max(ints[0], 0), "a repeated value")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            if left.bit_length() * right > MAX_INT_BITS:
                raise _Exceeded(f"a number of more than {MAX_INT_BITS} bits")
        elif operator == "%" and isinstance(left, str):
            _check_printf(meter, left)
        return meter.sized(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt: str = value.__self__

        def bounded(*args: Any, **kwargs: Any) -> str:
            _check_format(_meter(), fmt)
            return wrapped(*args, **kwargs)

        return bounded

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        meter = _meter()
        meter.step()
        owner = getattr(__obj, "__self__", None)
        # A method of a text (Markup's own included), number or collection: only those that cannot blow up.
        if isinstance(__obj, types.BuiltinMethodType | types.MethodType) and isinstance(owner, _VALUE_TYPES):
            if isinstance(owner, str):
                _check_str_method(meter, owner, __obj.__name__, args, kwargs)
                if __obj.__name__ == "join" and args:
                    args = (list(args[0]), *args[1:])
                    _bounded_join(meter, args[0], owner)
            elif not any(isinstance(owner, kind) and __obj.__name__ in names for kind, names in _OTHER_METHODS.items()):
                raise jinja2.exceptions.SecurityError(
                    f"the method {__obj.__name__!r} of {type(owner).__name__} is not available in templates")
        return meter.sized(super().call(__context, __obj, *args, **kwargs))


def render_texts(templates: Sequence[jinja2.Template], values: Mapping[str, Any], budget: RenderBudget, *,
                 clock: Callable[[], float] = time.monotonic) -> list[str]:
    """Renders templates compiled by a BoundedEnvironment (a message's body and subject) under one `budget`.
    The output is counted as it is produced; anything that breaks the budget raises TemplateTooExpensive, any
    other failure TemplateError. The clock is a stopwatch for the budget, never the business's time."""
    meter = _Meter(budget, clock() + budget.seconds, clock)
    token = _METER.set(meter)
    try:
        texts, size = [], 0
        for template in templates:
            pieces = []
            for piece in template.generate(values):
                size += len(piece.encode("utf-8", "surrogatepass"))
                if size > budget.output_bytes:
                    raise _Exceeded(f"an output of more than {budget.output_bytes} bytes")
                pieces.append(piece)
            texts.append("".join(pieces))
        return texts
    except _Exceeded as e:
        raise TemplateTooExpensive(f"the template is too expensive: {e}") from None
    except RecursionError:
        raise TemplateTooExpensive("the template is too expensive: calls nested too deep") from None
    except MemoryError:
        raise TemplateTooExpensive("the template is too expensive: out of memory") from None
    except TemplateError:
        raise
    except Exception as e:  # whatever a template does wrong, it is the template's failure
        raise TemplateError(f"the template fails: {type(e).__name__}: {str(e)[:200]}",
                            reason=f"the template fails: {type(e).__name__}") from None
    finally:
        _METER.reset(token)
