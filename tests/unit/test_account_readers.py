"""Ingest's bulk lane waits on the readers of the account topic: the list it is given (ACCOUNT_READERS, in the
deployment and in `recaudo serve all`) is exactly the services whose subscriptions read that topic, and ingest's
Kafka user may read their offsets and nothing more of theirs."""

import json
import os

import pytest

from recaudo import deploy_kafka
from recaudo.services import BUILDERS, tell_ingest_who_is_served_here
from recaudo_common.events import ACCOUNT_READERS, topic_name

pytestmark = pytest.mark.unit


def test_the_account_readers_are_the_services_that_subscribe_to_the_account_topic() -> None:
    topic = topic_name("recaudo", "account")
    readers = {s for s in BUILDERS if topic in deploy_kafka.kafka_needs(s, "recaudo").consumes}
    assert readers == set(ACCOUNT_READERS)


def test_ingest_may_describe_the_readers_groups_and_no_one_else_may() -> None:
    rules = {(r["resource"]["name"], tuple(r["operations"])) for r in
             deploy_kafka.acls(deploy_kafka.kafka_needs("ingest", "recaudo")) if r["resource"]["type"] == "group"}
    assert {(f"recaudo.{r}", ("Describe",)) for r in ACCOUNT_READERS} <= rules
    assert ("recaudo.ingest", ("Read",)) in rules
    for service in set(BUILDERS) - {"ingest"}:
        assert deploy_kafka.kafka_needs(service, "recaudo").watched_groups == frozenset()


def test_serve_all_tells_ingest_the_readers_served_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RECAUDO_INGEST_BULK_READERS", "RECAUDO_INGEST_CLIENT_READY_SERVICES"):
        monkeypatch.setenv(name, "")  # recorded, so that what the call sets is undone after the test
        monkeypatch.delenv(name)
    tell_ingest_who_is_served_here(["ingest", "segmentation", "reporting"], "all")
    assert json.loads(os.environ["RECAUDO_INGEST_BULK_READERS"]) == ["segmentation", "reporting"]
    monkeypatch.delenv("RECAUDO_INGEST_BULK_READERS")
    tell_ingest_who_is_served_here(["ingest", "segmentation"], "api")  # no workers here: nothing to wait on
    assert "RECAUDO_INGEST_BULK_READERS" not in os.environ
