"""Trace sampling (RECAUDO_TRACE_SAMPLE_RATIO): of the traces that start in a process, the ratio is kept, decided
by the trace id; a trace begun elsewhere follows its caller's decision, so a trace is kept or dropped whole in
every service it crosses; a query outside any operation never starts one."""

import datetime as dt
import random
import uuid

import pytest
from opentelemetry import propagate
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import batch_lead
from recaudo_common.events import Envelope
from recaudo_common.instrumentation import sampler
from recaudo_common.settings import PlatformSettings

pytestmark = pytest.mark.unit

DB_QUERY = {"db.system": "postgresql"}


def kept(ratio: float, trace_id: int, kind: SpanKind = SpanKind.SERVER) -> bool:
    result = sampler(ratio).should_sample(None, trace_id, "POST /v1/webhooks/payments/{gateway}", kind)
    return result.decision is Decision.RECORD_AND_SAMPLE


def test_a_tenth_of_new_traces_is_kept_and_each_trace_id_is_decided_alike_everywhere() -> None:
    draw = random.Random(24)
    trace_ids = [draw.getrandbits(128) for _ in range(20_000)]
    decisions = [kept(0.1, trace_id) for trace_id in trace_ids]
    assert 0.09 < sum(decisions) / len(decisions) < 0.11
    # Another process (a new sampler) with the same ratio decides each trace id the same way.
    assert [kept(0.1, trace_id) for trace_id in trace_ids[:2_000]] == decisions[:2_000]
    assert all(kept(1.0, trace_id) for trace_id in trace_ids[:2_000])
    assert not any(kept(0.0, trace_id) for trace_id in trace_ids[:2_000])


def test_a_query_outside_any_operation_starts_no_trace_whatever_the_ratio() -> None:
    result = sampler(1.0).should_sample(None, 2**100, "SELECT", SpanKind.CLIENT, DB_QUERY)
    assert result.decision is Decision.DROP
    # The same query inside an operation follows the operation (tested below through a parent).
    assert kept(1.0, 2**100, SpanKind.CLIENT)


def traceparent_of(provider: TracerProvider) -> dict[str, str]:
    """A request that starts a trace in one service, and the headers its events carry to the next."""
    with provider.get_tracer("caller").start_as_current_span("POST /v1/portfolios", kind=SpanKind.SERVER):
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        return carrier


def consumed_is_recorded(provider: TracerProvider, carrier: dict[str, str]) -> bool:
    """The next service consumes the event under the context it carries, and queries the database inside it."""
    tracer = provider.get_tracer("consumer")
    with tracer.start_as_current_span("consume", context=propagate.extract(carrier), kind=SpanKind.CONSUMER) as span, \
            tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT, attributes=DB_QUERY) as query:
        assert query.is_recording() is span.is_recording()
        return span.is_recording()


@pytest.mark.parametrize(("caller_ratio", "next_ratio"), [(0.0, 1.0), (1.0, 0.0)])
def test_a_trace_is_kept_or_dropped_whole_across_services(caller_ratio: float, next_ratio: float) -> None:
    caller = TracerProvider(sampler=sampler(caller_ratio))
    carrier = traceparent_of(caller)
    sampled = int(carrier["traceparent"].rsplit("-", 1)[1], 16) & 1  # W3C trace flags: the sampled bit
    assert sampled == (1 if caller_ratio else 0)
    # The trace id travels either way: log lines in every service still name the trace.
    assert int(carrier["traceparent"].split("-")[1], 16) != 0
    assert consumed_is_recorded(TracerProvider(sampler=sampler(next_ratio)), carrier) is bool(caller_ratio)


def test_the_ratio_is_a_share(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECAUDO_TRACE_SAMPLE_RATIO", "0.1")
    assert PlatformSettings().trace_sample_ratio == 0.1
    monkeypatch.delenv("RECAUDO_TRACE_SAMPLE_RATIO")
    assert PlatformSettings().trace_sample_ratio == 1.0  # every trace kept unless told otherwise
    for wrong in ("1.5", "-0.1", "a tenth"):
        monkeypatch.setenv("RECAUDO_TRACE_SAMPLE_RATIO", wrong)
        with pytest.raises(ValidationError, match="trace_sample_ratio"):
            PlatformSettings()


def delivered(n: int, flags: str | None) -> Message:
    headers = {} if flags is None else {"traceparent": f"00-{n + 1:032x}-{n + 1:016x}-{flags}"}
    envelope = Envelope(event_id=uuid.uuid4(), type="client.updated", version=1, client="banco", key="banco",
                        occurred_at=dt.datetime(2026, 12, 6, tzinfo=dt.UTC), correlation_id=uuid.uuid4(), payload={})
    return Message("recaudo.client", "banco", envelope, headers, position=n)


def test_a_batch_continues_the_trace_of_its_first_sampled_event() -> None:
    """A consumer applies a batch under one span: a kept trace goes on through it wherever its event stands
    (the W3C flags' sampled bit, 01 or with the random bit 03), and a batch of none kept continues the first."""
    run = [delivered(n, flags) for n, flags in enumerate([None, "00", "02", "03", "01", "zz"])]
    assert batch_lead(run).position == 3
    assert batch_lead(run[4:]).position == 4
    unsampled = [delivered(n, flags) for n, flags in enumerate(["00", None, "zz", "02"])]
    assert batch_lead(unsampled).position == 0
