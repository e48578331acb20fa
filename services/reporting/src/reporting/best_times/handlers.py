"""The best times' handler: outreach's announcement of a client company's learned slots replaces the ones kept."""

from __future__ import annotations

from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.events import ContactBestTimesLearned
from reporting.best_times import store


async def on_best_times_learned(event: ContactBestTimesLearned, ctx: HandlerContext) -> None:
    await store.replace_best_times(ctx.session, client=ctx.envelope.client, learned_at=event.learned_at, slots=[
        store.BestSlotRow(b.segment, b.channel, b.rank, b.dow, b.hour, b.label, b.rate, b.n) for b in event.slots])
