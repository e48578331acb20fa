"""The operators' `recaudo` commands: keys, dead letters, Kafka reseal, aging, models, reporting's rebuild."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from typing import Literal, cast

import click

from recaudo_common.events import TOPIC_NAMES, topic_name
from recaudo_common.runtime import make_platform, migrate, system_clock
from recaudo_common.settings import PlatformSettings
from recaudo_common.telemetry import configure_logging

KeyRole = Literal["operator", "client", "sre"]


@click.group(help="API keys")
def keys() -> None:
    pass


@keys.command("create", help="create a key; prints it as the last line")
@click.option("--role", required=True, type=click.Choice(["operator", "client", "sre"]))
@click.option("--client", help="the client company a client key is bound to")
@click.option("--scope", multiple=True, metavar="SLUG ...", help="limit an operator key to these client companies")
@click.option("--label")
@click.option("--expires-in", type=int, metavar="DAYS", help="the key stops working after this many days")
def keys_create(role: str, client: str | None, scope: tuple[str, ...], label: str | None,
                expires_in: int | None) -> None:
    asyncio.run(_keys_create(role, client, list(scope) or None, label, expires_in))


async def _keys_create(role: str, client: str | None, scope: list[str] | None, label: str | None,
                       expires_in: int | None) -> None:
    settings = PlatformSettings()
    platform = make_platform(settings, pool_size=1)
    try:
        await migrate(settings, [])
        now = system_clock()
        expires_at = now + dt.timedelta(days=expires_in) if expires_in is not None else None
        key_id, key = await platform.keys.create(role=cast(KeyRole, role), client_slug=client, client_scope=scope,
                                                 label=label, now=now, expires_at=expires_at)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    finally:
        await platform.db.dispose()
    print(f"id: {key_id}", file=sys.stderr)
    if expires_at is not None:
        print(f"expires: {expires_at.isoformat(timespec='seconds')}", file=sys.stderr)
    print(key)


@keys.command("list", help="every key without its secret: role, client, state, expiry, last 4 characters")
def keys_list() -> None:
    asyncio.run(_keys_list())


async def _keys_list() -> None:
    settings = PlatformSettings()
    platform = make_platform(settings, pool_size=1)
    try:
        await migrate(settings, [])
        records = await platform.keys.list()
    finally:
        await platform.db.dispose()
    now = system_clock()
    for r in records:
        state = ("revoked" if r.revoked_at is not None else
                 "expired" if r.expires_at is not None and r.expires_at <= now else "active")
        expires = r.expires_at.isoformat(timespec="seconds") if r.expires_at else "never"
        print(f"{r.id}  {r.role:<8} {r.client_slug or '-':<20} {state:<8} expires {expires:<25} "
              f"…{r.hint or '????'}  {r.label or ''}".rstrip())


@click.group(help="dead-letter topics")
def dlq() -> None:
    pass


@dlq.command("replay", help="re-publish a topic's dead letters to the topic")
@click.option("--topic", required=True, type=click.Choice(list(TOPIC_NAMES)))
@click.option("--limit", type=int)
def dlq_replay(topic: str, limit: int | None) -> None:
    asyncio.run(_dlq_replay(topic, limit))


async def _dlq_replay(topic: str, limit: int | None) -> None:
    settings = PlatformSettings()
    platform = make_platform(settings, pool_size=1)
    await platform.transport.start()
    try:
        count = await platform.transport.replay_dlq(topic_name(settings.topic_prefix, topic), limit=limit)
    finally:
        await platform.transport.stop()
        await platform.db.dispose()
    print(f"replayed {count} events from {topic_name(settings.topic_prefix, topic)}.dlq")


@click.group(help="Kafka topics")
def kafka() -> None:
    pass


@kafka.command("reseal", help="copy the topics to a new prefix with every version 1 account event resealed "
                              "(topics written before #19; services stopped)")
@click.option("--to-prefix", required=True, help="the new topic prefix; its topics must be absent or empty")
@click.option("--from-prefix", help="the old topic prefix (default: RECAUDO_TOPIC_PREFIX)")
def kafka_reseal(to_prefix: str, from_prefix: str | None) -> None:
    asyncio.run(_kafka_reseal(to_prefix, from_prefix))


async def _kafka_reseal(to_prefix: str, from_prefix: str | None) -> None:
    from recaudo.kafka_reseal import TargetNotEmpty, report, reseal_topics
    from recaudo_common.bus.kafka_security import KafkaSecurity
    from recaudo_common.personal_data import Vault

    settings = PlatformSettings()
    configure_logging("kafka-reseal", settings.log_level)
    source = from_prefix or settings.topic_prefix
    if settings.transport != "kafka":
        print("error: RECAUDO_TRANSPORT is not kafka: the embedded log is resealed by `recaudo migrate`",
              file=sys.stderr)
        raise SystemExit(2)
    platform = make_platform(settings, pool_size=1)
    try:
        copies = await reseal_topics(bootstrap=settings.kafka_bootstrap, db=platform.db,
                                     vault=Vault.from_settings(settings), from_prefix=source,
                                     to_prefix=to_prefix, now=system_clock(), security=KafkaSecurity.of(settings))
    except (TargetNotEmpty, ValueError) as refused:
        print(f"error: {refused}; nothing was copied", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        await platform.db.dispose()
    print("\n".join(report(copies, source)))
    print(f"done: set RECAUDO_TOPIC_PREFIX={to_prefix}, start the services, then delete the topics of "
          f"{source} (docs/deploy.md)")


@click.group(help="daily aging of days past due")
def aging() -> None:
    pass


@aging.command("run", help="age accounts now (or as of --date); idempotent")
@click.option("--date", "day", help="YYYY-MM-DD in the client companies' time zones (default: each one's today)")
@click.option("--client", help="only this client company (with --date)")
def aging_run(day: str | None, client: str | None) -> None:
    asyncio.run(_aging(day, client))


async def _aging(day: str | None, client: str | None) -> None:
    from segmentation.handlers import age_due_clients, run_aging
    from segmentation.store import client_slugs

    platform = make_platform(PlatformSettings(), pool_size=2)
    try:
        now = system_clock()
        if day:
            date = dt.date.fromisoformat(day)
            async with platform.db.transaction() as s:
                slugs = [slug for slug, _ in await client_slugs(s) if client in (None, slug)]
            results = {slug: await run_aging(platform.db, client=slug, day=date, now=now) for slug in slugs}
        else:
            results = await age_due_clients(platform.db, now=now)
    finally:
        await platform.db.dispose()
    for slug, moved in sorted(results.items()):
        print(f"{slug}: {moved} accounts changed bucket")
    if not results:
        print("nothing to age: every client company's day is already done")


@click.group(help="propensity models")
def model() -> None:
    pass


@model.command("train", help="train on the client company's observed outcomes and make it current")
@click.option("--client", required=True)
def model_train(client: str) -> None:
    asyncio.run(_model_train(client))


async def _model_train(client: str) -> None:
    from segmentation.modelling import train_model

    platform = make_platform(PlatformSettings(), pool_size=2)
    try:
        run = await train_model(platform.db, client=client, now=system_clock())
    finally:
        await platform.db.dispose()
    print(f"{client}: {run.outcome}: {run.detail}")
    if run.outcome not in ("promoted", "not_promoted"):
        raise SystemExit(1)


@click.group(help="reporting's read models")
def reporting() -> None:
    pass


@reporting.command("rebuild", help="replay the topics from the beginning into fresh tables and compare every "
                                   "report figure with the live ones")
@click.option("--client", help="only this client company")
def reporting_rebuild(client: str | None) -> None:
    asyncio.run(_reporting_rebuild(client))


async def _reporting_rebuild(client: str | None) -> None:
    from reporting.rebuild import clients_of, differences, rebuild

    platform = make_platform(PlatformSettings(), pool_size=2)
    await platform.transport.start()
    try:
        applied = await rebuild(platform, client=client)
        clients = [client] if client else await clients_of(platform)
        diffs = await differences(platform, clients=clients, now=system_clock())
    finally:
        await platform.transport.stop()
        await platform.db.dispose()
    print(f"replayed {applied} events into fresh tables (schema reporting_rebuild) for "
          f"{', '.join(clients) or 'no client'}")
    for d in diffs:
        print(f"DIFFERS {d['client']} group_by={d['group_by']} {d['key']} {d['figure']}: live {d['live']}, "
              f"rebuilt {d['rebuilt']}")
    if diffs:
        raise SystemExit(1)
    print("every report figure of the rebuilt tables equals the live one")


GROUPS = [keys, dlq, kafka, aging, model, reporting]


def spread_scope(argv: list[str]) -> list[str]:
    """`--scope a b c` (as the argparse CLI took it and the README shows) becomes `--scope a --scope b ...`."""
    out: list[str] = []
    spreading = False
    for arg in argv:
        if arg == "--scope":
            spreading = True
            continue
        if spreading and not arg.startswith("-"):
            out += ["--scope", arg]
            continue
        spreading = False
        out.append(arg)
    return out
