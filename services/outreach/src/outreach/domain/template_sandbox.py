"""The sandbox message templates render in: every loop iteration, call and filter counts against one budget per
render (steps and wall time, checked inside the render), and every value and the output are capped in size
(the budget and its meter in template_meter.py, the checks of what a template calls in template_checks.py)."""

from __future__ import annotations

import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.filters import make_attrgetter
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace, pass_context

from outreach.domain.template_checks import (
    CHECKED_FILTERS,
    OTHER_METHODS,
    VALUE_TYPES,
    Arguments,
    bounded_join,
    check_filter,
    check_format,
    check_printf,
    check_str_method,
)
from outreach.domain.template_meter import (
    MAX_INT_BITS,
    METER,
    Exceeded,
    Meter,
    RenderBudget,
    TemplateError,
    TemplateTooExpensive,
    current_meter,
    weigh,
)

__all__ = ["BoundedEnvironment", "RenderBudget", "TemplateError", "TemplateTooExpensive", "render_texts"]


def _invoke(func: Callable[..., Any], context: Context, *args: Any, **kwargs: Any) -> Any:
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
        meter = current_meter()
        meter.step()
        if name == "join":
            arguments = Arguments(args, kwargs)
            value = list(value)  # a generator is read once, counted as it is
            attribute = arguments.get(1, "attribute", None)
            items = [make_attrgetter(context.environment, attribute)(v) for v in value] if attribute else value
            bounded_join(meter, items, str(arguments.get(0, "d", "")))
        elif name in CHECKED_FILTERS:
            check_filter(meter, name, value, Arguments(args, kwargs))
        return meter.sized(_invoke(func, context, value, *args, **kwargs))

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
        current_meter().step()
        total = environment.call_binop(context, "+", total, get(item))
    return total


def _counted_test(func: Callable[..., Any]) -> Callable[..., Any]:
    @pass_context
    def counted(context: Context, *args: Any, **kwargs: Any) -> Any:
        current_meter().step()
        return _invoke(func, context, *args, **kwargs)

    return counted


class _BoundedNamespace(Namespace):
    """`namespace()`: the one value a template can change across loop iterations, so each change is sized."""

    def __setitem__(self, name: str, value: Any) -> None:
        super().__setitem__(name, current_meter().sized(value))


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
        meter = current_meter()
        return meter.produce(str(meter.sized(value)))

    def constant_text(self, text: str) -> str:
        return current_meter().produce(text)

    def counted_iteration(self, iterable: Iterable[Any]) -> Iterator[Any]:
        meter = current_meter()
        for item in iterable:
            meter.step()
            yield item

    def bounded_concat(self, parts: tuple[Any, ...]) -> str:
        meter = current_meter()
        texts = [str(meter.sized(p)) for p in parts]
        meter.room(sum(map(len, texts)), "a joined text")
        return "".join(texts)

    def sized_literal(self, value: Any) -> Any:
        return current_meter().sized(value)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        meter = current_meter()
        if operator == "*":
            ints = [x for x in (left, right) if isinstance(x, int)]
            others = [x for x in (left, right) if not isinstance(x, int)]
            if len(ints) == 2:
                if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                    raise Exceeded(f"a number of more than {MAX_INT_BITS} bits")
            elif len(ints) == 1 and isinstance(others[0], str | list | tuple):
                meter.room(weigh(others[0], meter.budget.output_bytes) * max(ints[0], 0), "a repeated value")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            if left.bit_length() * right > MAX_INT_BITS:
                raise Exceeded(f"a number of more than {MAX_INT_BITS} bits")
        elif operator == "%" and isinstance(left, str):
            check_printf(meter, left)
        return meter.sized(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt: str = value.__self__

        def bounded(*args: Any, **kwargs: Any) -> str:
            check_format(current_meter(), fmt)
            return wrapped(*args, **kwargs)

        return bounded

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        meter = current_meter()
        meter.step()
        owner = getattr(__obj, "__self__", None)
        # A method of a text (Markup's own included), number or collection: only those that cannot blow up.
        if isinstance(__obj, types.BuiltinMethodType | types.MethodType) and isinstance(owner, VALUE_TYPES):
            if isinstance(owner, str):
                check_str_method(meter, owner, __obj.__name__, Arguments(args, kwargs))
                if __obj.__name__ == "join" and args:
                    args = (list(args[0]), *args[1:])
                    bounded_join(meter, args[0], owner)
            elif not any(isinstance(owner, kind) and __obj.__name__ in names for kind, names in OTHER_METHODS.items()):
                raise jinja2.exceptions.SecurityError(
                    f"the method {__obj.__name__!r} of {type(owner).__name__} is not available in templates")
        return meter.sized(super().call(__context, __obj, *args, **kwargs))


def render_texts(templates: Sequence[jinja2.Template], values: Mapping[str, Any], budget: RenderBudget, *,
                 clock: Callable[[], float] = time.monotonic) -> list[str]:
    """Renders templates compiled by a BoundedEnvironment (a message's body and subject) under one `budget`.
    The output is counted as it is produced; anything that breaks the budget raises TemplateTooExpensive, any
    other failure TemplateError. The clock is a stopwatch for the budget, never the business's time."""
    meter = Meter(budget, clock() + budget.seconds, clock)
    token = METER.set(meter)
    try:
        texts, size = [], 0
        for template in templates:
            pieces = []
            for piece in template.generate(values):
                size += len(piece.encode("utf-8", "surrogatepass"))
                if size > budget.output_bytes:
                    raise Exceeded(f"an output of more than {budget.output_bytes} bytes")
                pieces.append(piece)
            texts.append("".join(pieces))
        return texts
    except Exceeded as e:
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
        METER.reset(token)

