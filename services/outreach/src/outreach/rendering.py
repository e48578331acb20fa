"""Message rendering off the event loop: a client company's template renders on a small pool of threads of its
own, under the budget in the settings (the sandbox stops the render itself; a thread cannot be killed)."""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from outreach.domain.templates import RenderBudget, Rendered, Template, default_template, preview, render
from outreach.settings import OutreachSettings

# Two threads: renders never wait on one another for long (each stops at its budget), and however many bad
# templates are saved at once, they hold at most two threads, never the event loop or the default executor.
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="template-render")


def budget_of(settings: OutreachSettings) -> RenderBudget:
    return RenderBudget(seconds=settings.template_render_budget_ms / 1000,
                        iterations=settings.template_max_iterations,
                        output_bytes=settings.template_max_output_bytes)


async def render_message(template: Template, settings: OutreachSettings, **facts: Any) -> Rendered:
    """The message for one account. The platform's own default templates are small and trusted: they render in
    place (under the same budget), sparing the batch a thread hop per message."""
    if template == default_template(template.channel, template.locale):
        return render(template, budget=budget_of(settings), **facts)
    return await asyncio.get_running_loop().run_in_executor(
        _POOL, functools.partial(render, template, budget=budget_of(settings), **facts))


async def preview_before_saving(template: Template, settings: OutreachSettings, *, opt_out_required: bool,
                                **sample: Any) -> Rendered:
    """Validation, then the rendering on the sample account, both before anything is stored; raises
    TemplateError (TemplateTooExpensive when the budget breaks)."""
    return await asyncio.get_running_loop().run_in_executor(
        _POOL, functools.partial(preview, template, opt_out_required=opt_out_required, budget=budget_of(settings),
                                 **sample))
