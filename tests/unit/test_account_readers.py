"""Ingest's bulk lane waits on the readers of the account topic and of the contact topic (#24): the lists it is given
(ACCOUNT_READERS and CONTACT_READERS, in the deployment and in `recaudo serve all`) are exactly the services and the
consumer groups whose subscriptions read those topics, and ingest's Kafka user may read their offsets and the
topics' ends and nothing more of theirs."""

import json
import os

import pytest

from recaudo import deploy_kafka
from recaudo.services import BUILDERS, tell_ingest_who_is_served_here
from recaudo_common.events import ACCOUNT_READERS, CONTACT_READERS, topic_name
from recaudo_common.runtime import make_platform
from recaudo_common.settings import PlatformSettings

pytestmark = pytest.mark.unit


def test_the_account_readers_are_the_services_that_subscribe_to_the_account_topic() -> None:
    topic = topic_name("recaudo", "account")
    readers = {s for s in BUILDERS if topic in deploy_kafka.kafka_needs(s, "recaudo").consumes}
    assert readers == set(ACCOUNT_READERS)


def test_the_contact_readers_are_the_groups_that_read_the_contact_topic() -> None:
    platform = make_platform(PlatformSettings(database_url="postgresql+asyncpg://unused@127.0.0.1:1/unused"),
                             pool_size=1)
    groups = {group.group_name for name in BUILDERS if (subs := BUILDERS[name](platform).subscriptions) is not None
              for group in subs.by_group() if "contact" in group.families()}
    assert groups == set(CONTACT_READERS)


def test_ingest_may_describe_the_readers_groups_and_no_one_else_may() -> None:
    rules = {(r["resource"]["type"], r["resource"]["name"], tuple(r["operations"])) for r in
             deploy_kafka.acls(deploy_kafka.kafka_needs("ingest", "recaudo"))}
    assert {("group", f"recaudo.{r}", ("Describe",)) for r in (*ACCOUNT_READERS, *CONTACT_READERS)} <= rules
    assert ("group", "recaudo.ingest", ("Read",)) in rules
    assert ("topic", "recaudo.contact", ("Describe",)) in rules  # its end offsets, nothing it may read or write
    for service in set(BUILDERS) - {"ingest"}:
        needs = deploy_kafka.kafka_needs(service, "recaudo")
        assert needs.watched_groups == needs.watched_topics == frozenset()


def test_serve_all_tells_ingest_the_readers_served_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RECAUDO_INGEST_BULK_READERS", "RECAUDO_INGEST_BULK_CONTACT_READERS",
                 "RECAUDO_INGEST_CLIENT_READY_SERVICES"):
        monkeypatch.setenv(name, "")  # recorded, so that what the call sets is undone after the test
        monkeypatch.delenv(name)
    tell_ingest_who_is_served_here(["ingest", "segmentation", "reporting"], "all")
    assert json.loads(os.environ["RECAUDO_INGEST_BULK_READERS"]) == ["segmentation", "reporting"]
    assert json.loads(os.environ["RECAUDO_INGEST_BULK_CONTACT_READERS"]) == ["segmentation-contacts",
                                                                              "reporting-contacts"]
    monkeypatch.delenv("RECAUDO_INGEST_BULK_READERS")
    monkeypatch.delenv("RECAUDO_INGEST_BULK_CONTACT_READERS")
    tell_ingest_who_is_served_here(["ingest", "segmentation"], "api")  # no workers here: nothing to wait on
    assert "RECAUDO_INGEST_BULK_READERS" not in os.environ
    assert "RECAUDO_INGEST_BULK_CONTACT_READERS" not in os.environ
