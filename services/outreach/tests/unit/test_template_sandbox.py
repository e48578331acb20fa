"""The template sandbox's budgets: loops nested or not, calls, recursion, values and output that would grow
without end, each stopped inside the render itself, quickly, with a reason; ordinary templates unchanged."""

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import jinja2
import pytest

from outreach.domain.template_sandbox import BoundedEnvironment, render_texts
from outreach.domain.templates import (
    LOCALES,
    RenderBudget,
    Template,
    TemplateError,
    TemplateTooExpensive,
    default_template,
    preview,
    render,
)

pytestmark = pytest.mark.unit
FACTS: dict[str, Any] = {
    "creditor": "Banco", "debtor_name": "Ana", "account_ref": "A-1", "balance": Decimal("1500000"),
    "currency": "COP", "days_past_due": 40, "offer": "", "payment_link": "https://r.example/pay/t",
    "link_expires": dt.date(2026, 4, 3), "opt_out_required": True}


def rendered(body: str, budget: RenderBudget = RenderBudget()) -> str:
    return render(Template("letter", "es-CO", None, body), budget=budget, **FACTS).body


def too_expensive(body: str, budget: RenderBudget = RenderBudget()) -> str:
    """The reason the render stopped, which each test checks names the budget that must have stopped it (a count,
    a size or a depth, not the clock: how long a render takes is the benchmarks' to say, and on a loaded CI machine
    10,000 macro calls once took 4.6 s)."""
    with pytest.raises(TemplateTooExpensive) as refused:
        rendered(body, budget)
    assert refused.value.code == "template_too_expensive"
    return str(refused.value)


# The default iteration budget with time to spare: what stops these renders must be the count, even when a
# loaded machine would take longer than the default 200 ms to reach it.
COUNTED = RenderBudget(seconds=30.0)


def test_nested_loops_count_against_one_budget() -> None:
    assert "more than 10000 loop iterations" in too_expensive(
        "{% for a in range(1000) %}{% for b in range(1000) %}x{% endfor %}{% endfor %}", COUNTED)
    assert "more than 10000" in too_expensive(  # the same budget across three levels, each far below it
        "{% for a in range(30) %}{% for b in range(30) %}{% for c in range(30) %}{% endfor %}{% endfor %}"
        "{% endfor %}", COUNTED)
    assert rendered("{% for a in range(90) %}{% for b in range(100) %}{% endfor %}{% endfor %}ok") == "ok"
    assert "more than 100" in too_expensive("{% for a in range(101) %}{% endfor %}", RenderBudget(iterations=100))


def test_filters_that_loop_inside_jinja_count_too() -> None:
    assert "more than 10000" in too_expensive(
        "{% for a in range(100) %}{{ range(1000)|map('string')|join|length }}{% endfor %}", COUNTED)
    assert "more than 10000" in too_expensive(
        "{% for a in range(100) %}{{ range(1000)|select('odd')|list|length }}{% endfor %}", COUNTED)


def test_the_time_budget_is_checked_inside_the_render() -> None:
    # Iterations are not what stops this one (a billion allowed): the clock is, read inside the loop.
    budget = RenderBudget(seconds=0.05, iterations=10**9)
    assert "longer than 50 ms" in too_expensive(
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", budget)
    ticks = itertools.count()
    env = BoundedEnvironment(undefined=jinja2.StrictUndefined)
    with pytest.raises(TemplateTooExpensive, match="longer than 200 ms"):
        render_texts([env.from_string("{% for a in range(5000) %}{% endfor %}")], {}, RenderBudget(),
                     clock=lambda: next(ticks) / 1000)  # a millisecond a look
    assert next(ticks) < 300  # stopped at its 200th iteration or so, not after the 5,000


@pytest.mark.parametrize("body", [
    "{{ 'x' * 10**9 }}", "{{ [1, 2] * 10**9 }}", "{{ 10**9 * 'x' }}", "{{ 2 ** (10**9) }}", "{{ 7 ** 5000 }}",
    "{{ (2 ** 4000) * (2 ** 4000) }}", "{{ ('9' * 4000)|int }}",
    "{{ 'x'|center(10**9) }}", "{{ 'x'.center(10**9) }}", "{{ 'x'.ljust(10**9) }}", "{{ 'x'.zfill(10**9) }}",
    "{{ ('x'|safe).center(10**9) }}", "{{ 'x\ty'.expandtabs(10**9) }}",
    "{{ 'x'|indent(10**9) }}", "{{ ('x\n' * 30000)|indent(100) }}",
    "{{ ('x ' * 30000)|wordwrap(1, wrapstring='<br>') }}",
    "{{ '%0999999999d'|format(1) }}", "{{ '%0999999999d' % 1 }}", "{{ '%*d' % (10**9, 1) }}",
    "{{ '{:>999999999}'.format(1) }}", "{{ '{:>{w}}'.format(1, w=10**9) }}", "{{ '{0:>999999999}'.format_map({}) }}",
    "{{ range(100000)|join }}", "{{ ','.join(range(100000)|map('string')) }}",
    "{{ ('ab' * 30000)|replace('a', 'aaaa') }}", "{{ 'ab'.replace('', 'x' * 60000) }}",
    "{{ [1]|batch(10**9, 'x')|list }}", "{{ [1]|slice(10**9)|list }}",
    "{{ range(100000)|list }}", "{{ ([[1] * 100] * 1000)|sum(start=[]) }}",
    "{{ range(60000)|map('center', 60000)|list|length }}",
])
def test_operations_that_would_build_huge_values_are_refused_before_they_run(body: str) -> None:
    assert "too expensive" in too_expensive(body)


def test_values_grown_a_step_at_a_time_are_stopped() -> None:
    doubling_text = ("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
                     "{% endfor %}{{ ns.s|length }}")
    assert "more than 65536 characters" in too_expensive(doubling_text)
    doubling_list = ("{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = [ns.l, ns.l] %}"
                     "{% endfor %}{{ ns.l }}")
    assert "more than 65536 characters" in too_expensive(doubling_list)
    nested = "{% set ns = namespace(l=1) %}{% for i in range(100) %}{% set ns.l = [ns.l] %}{% endfor %}"
    assert "nested more than 32 deep" in too_expensive(nested)
    captured = "{% set x %}{% for i in range(5000) %}{{ 'y' * 60000 }}{% endfor %}{% endset %}{{ x|length }}"
    assert "printed in all" in too_expensive(captured)


def test_the_output_is_capped_in_bytes_while_it_is_written() -> None:
    assert "an output of more than 65536 bytes" in too_expensive("{{ 'x' * 60000 }}{{ 'x' * 60000 }}")
    assert "an output of more than 65536 bytes" in too_expensive("{{ 'é' * 40000 }}")  # 40,000 chars, 80,000 bytes
    assert "an output of more than 2000 bytes" in too_expensive(
        "{% for i in range(300) %}0123456789{% endfor %}", RenderBudget(output_bytes=2000, seconds=30.0))
    assert len(rendered("{{ 'x' * 60000 }}")) == 60000


def test_recursion_through_macros_is_bounded_and_include_is_not_available() -> None:
    assert "nested too deep" in too_expensive("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}")
    assert "more than 10000" in too_expensive(
        "{% macro m(n) %}{% if n %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(60) }}", COUNTED)
    for body in ("{% include 'x' %}", "{% import 'x' as x %}", "{% from 'x' import y %}", "{% extends 'x' %}",
                 "{% for x in [[1]] recursive %}{{ loop(x) }}{% endfor %}"):
        with pytest.raises(TemplateError, match="not available in message templates") as refused:
            rendered(body)
        assert refused.value.code == "invalid_template"


def test_escapes_from_the_sandbox_and_dangerous_methods_are_refused() -> None:
    for body in ("{{ ''.__class__.__mro__ }}", "{{ (10).to_bytes(10**9, 'big') }}", "{{ lipsum(10**6) }}",
                 "{{ [1, 2].append(3) }}", "{{ 'x'.encode() }}"):
        with pytest.raises(TemplateError) as refused:
            rendered(body)
        assert refused.value.code == "invalid_template", body


def test_a_failure_names_its_kind_in_the_reason_and_never_the_values_rendered() -> None:
    with pytest.raises(TemplateError) as failed:
        rendered("{{ {}[debtor_name] }}")
    assert "Ana" in str(failed.value)  # shown to whoever saves it, on the sample account
    assert failed.value.reason == "the template fails: UndefinedError"  # what a failed send records


def test_ordinary_templates_render_as_before() -> None:
    for locale, channel in itertools.product(LOCALES, ("sms", "email", "whatsapp", "voice", "agent", "letter")):
        message = render(default_template(channel, locale), budget=RenderBudget(), **FACTS)
        assert "Ana" in message.body and "A-1" in message.body
    body = ("{{ debtor_name|upper }}: {{ '%05d' % days_past_due }} {{ '{:>6}'.format(account_ref) }} "
            "{% for i in range(3) %}{{ loop.index }}{% endfor %} {{ [3, 1, 2]|sort|join('-') }} "
            "{% set ns = namespace(n=0) %}{% for i in range(10) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }} "
            "{% macro hi(who) %}hola {{ who }}{% endmacro %}{{ hi(debtor_name) }} {{ 'ab'.replace('a', 'x') }} "
            "{{ (balance ~ '')[:3] }} {{ {'a': 1}.get('a') }} {{ 2 ** 10 }} {{ 'x' * 3 }} {{ [1, 2] + [3] }}")
    assert rendered(body) == ("ANA: 00040    A-1 123 1-2-3 45 hola Ana xb $1. 1 1024 xxx [1, 2, 3]")


def test_a_save_runs_validation_then_the_preview_under_the_budget() -> None:
    looping = Template("sms", "es-CO", None, "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}"
                                             "{% endfor %}{{ opt_out }}")
    with pytest.raises(TemplateTooExpensive):
        preview(looping, budget=RenderBudget(), **FACTS)
    unknown = Template("sms", "es-CO", None, "{{ nombre }}{% for a in range(10**5) %}{% endfor %}{{ opt_out }}")
    with pytest.raises(TemplateError, match="unknown variable"):  # validation first, before any rendering
        preview(unknown, budget=RenderBudget(), **FACTS)
    fine = preview(Template("sms", "es-CO", None, "{{ debtor_name }} {{ opt_out }}"), budget=RenderBudget(), **FACTS)
    assert fine.body.startswith("Ana Responda BAJA")
