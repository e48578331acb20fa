"""recaudo: serve a service, run the embedded platform, migrate, manage keys, replay DLQs, write the catalogue."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import secrets
import sys
from pathlib import Path

from recaudo.services import BUILDERS, build_units, settings_of
from recaudo_common.events import TOPIC_NAMES, topic_name
from recaudo_common.runtime import Platform, ServiceUnit, check_settings, make_platform, migrate, serve, system_clock
from recaudo_common.settings import PlatformSettings, UnsafeProductionSettings
from recaudo_common.telemetry import configure_logging, configure_tracing

ALL = list(BUILDERS)


def _settings() -> PlatformSettings:
    return PlatformSettings()


def _refuse_unsafe(platform: Platform, units: list[ServiceUnit]) -> None:
    """Production on development settings: one line per offending setting on stderr, then exit 78 (EX_CONFIG),
    before any migration or connection."""
    try:
        check_settings(platform, units)
    except UnsafeProductionSettings as refused:
        print(f"error: refusing to start in production: {len(refused.problems)} unsafe setting(s)", file=sys.stderr)
        for problem in refused.problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(78) from None


async def _serve(args: argparse.Namespace) -> None:
    names = ALL if args.service == "all" else [args.service]
    settings = settings_of(names)
    configure_logging(args.service, settings.log_level)
    configure_tracing(f"recaudo-{args.service}", settings.otlp_endpoint)
    platform = make_platform(settings)
    units = build_units(platform, names)
    _refuse_unsafe(platform, units)
    if not args.no_migrate:
        await migrate(settings, units)
    port = args.port if args.port is not None else (0 if args.role == "worker" else int(
        os.environ.get("RECAUDO_PORT", "8000")))
    await serve(platform, units, role=args.role, host=args.host, port=port)


async def _migrate(args: argparse.Namespace) -> None:
    settings = settings_of(args.services or ALL)
    platform = make_platform(settings)
    await migrate(settings, build_units(platform, args.services or ALL))
    await platform.db.dispose()
    print("migrated:", ", ".join(args.services or ALL))


async def _keys_create(args: argparse.Namespace) -> None:
    settings = _settings()
    platform = make_platform(settings, pool_size=1)
    await migrate(settings, [])
    now = system_clock()
    expires_at = now + dt.timedelta(days=args.expires_in) if args.expires_in is not None else None
    try:
        key_id, key = await platform.keys.create(role=args.role, client_slug=args.client,
                                                 client_scope=args.scope, label=args.label, now=now,
                                                 expires_at=expires_at)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    finally:
        await platform.db.dispose()
    print(f"id: {key_id}", file=sys.stderr)
    if expires_at is not None:
        print(f"expires: {expires_at.isoformat(timespec='seconds')}", file=sys.stderr)
    print(key)


async def _keys_list(args: argparse.Namespace) -> None:
    settings = _settings()
    platform = make_platform(settings, pool_size=1)
    await migrate(settings, [])
    try:
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


async def _dlq_replay(args: argparse.Namespace) -> None:
    settings = _settings()
    platform = make_platform(settings, pool_size=1)
    await platform.transport.start()
    try:
        count = await platform.transport.replay_dlq(topic_name(settings.topic_prefix, args.topic), limit=args.limit)
    finally:
        await platform.transport.stop()
        await platform.db.dispose()
    print(f"replayed {count} events from {topic_name(settings.topic_prefix, args.topic)}.dlq")


async def _kafka_reseal(args: argparse.Namespace) -> None:
    from recaudo.kafka_reseal import TargetNotEmpty, report, reseal_topics
    from recaudo_common.bus.kafka_security import KafkaSecurity
    from recaudo_common.personal_data import Vault

    settings = _settings()
    configure_logging("kafka-reseal", settings.log_level)
    source = args.from_prefix or settings.topic_prefix
    if settings.transport != "kafka":
        print("error: RECAUDO_TRANSPORT is not kafka: the embedded log is resealed by `recaudo migrate`",
              file=sys.stderr)
        raise SystemExit(2)
    platform = make_platform(settings, pool_size=1)
    try:
        copies = await reseal_topics(bootstrap=settings.kafka_bootstrap, db=platform.db,
                                     vault=Vault.from_settings(settings), from_prefix=source,
                                     to_prefix=args.to_prefix, now=system_clock(),
                                     security=KafkaSecurity.of(settings))
    except (TargetNotEmpty, ValueError) as refused:
        print(f"error: {refused}; nothing was copied", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        await platform.db.dispose()
    print("\n".join(report(copies, source)))
    print(f"done: set RECAUDO_TOPIC_PREFIX={args.to_prefix}, start the services, then delete the topics of "
          f"{source} (docs/deploy.md)")


def _upload(args: argparse.Namespace) -> None:
    from recaudo.upload import upload

    key = args.key or os.environ.get("RECAUDO_API_KEY")
    if not key:
        print("error: give --key or set RECAUDO_API_KEY", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(asyncio.run(upload(base_url=args.url, key=key, path=Path(args.file), client=args.client,
                                        mapping_profile=args.mapping_profile, as_of=args.as_of, sheet=args.sheet)))


async def _aging(args: argparse.Namespace) -> None:
    from segmentation.handlers import age_due_clients, run_aging

    settings = _settings()
    platform = make_platform(settings, pool_size=2)
    try:
        now = system_clock()
        if args.date:
            day = dt.date.fromisoformat(args.date)
            async with platform.db.transaction() as s:
                from segmentation.store import client_slugs

                slugs = [slug for slug, _ in await client_slugs(s) if args.client in (None, slug)]
            results = {slug: await run_aging(platform.db, client=slug, day=day, now=now) for slug in slugs}
        else:
            results = await age_due_clients(platform.db, now=now)
    finally:
        await platform.db.dispose()
    for slug, moved in sorted(results.items()):
        print(f"{slug}: {moved} accounts changed bucket")
    if not results:
        print("nothing to age: every client company's day is already done")


async def _model_train(args: argparse.Namespace) -> None:
    from segmentation.modelling import train_model

    platform = make_platform(_settings(), pool_size=2)
    try:
        run = await train_model(platform.db, client=args.client, now=system_clock())
    finally:
        await platform.db.dispose()
    print(f"{args.client}: {run.outcome}: {run.detail}")
    if run.outcome not in ("promoted", "not_promoted"):
        raise SystemExit(1)


async def _reporting_rebuild(args: argparse.Namespace) -> None:
    from reporting.rebuild import clients_of, differences, rebuild

    platform = make_platform(_settings(), pool_size=2)
    await platform.transport.start()
    try:
        applied = await rebuild(platform, client=args.client)
        clients = [args.client] if args.client else await clients_of(platform)
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


def _deploy_k8s(args: argparse.Namespace) -> None:
    from recaudo.deploy import write

    for rel in write(Path(args.root)):
        print(f"deploy/k8s/{rel}")


def _catalogue(args: argparse.Namespace) -> None:
    from recaudo.catalogue import render

    text = render() + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


async def _run(args: argparse.Namespace) -> None:
    """The embedded default: embedded PostgreSQL, the postgres transport, all five services, demo data."""
    import recaudo_common.embedded_pg as embedded_pg
    from recaudo import demo

    data = Path(args.data)
    if not any(os.environ.get(name) for name in PlatformSettings.variables_of("database_url")):
        print("starting embedded PostgreSQL ...", flush=True)
        try:
            url = await asyncio.to_thread(embedded_pg.start, data / "postgres", port=args.pg_port)
        except embedded_pg.EmbeddedPostgresMissing as missing:
            print(f"error: {missing}", file=sys.stderr)
            raise SystemExit(1) from None
        os.environ["RECAUDO_DATABASE_URL"] = url
    os.environ.setdefault("RECAUDO_TRANSPORT", "postgres")
    keys_file = data / "demo-keys.json"
    keys: dict[str, str] = json.loads(keys_file.read_text()) if keys_file.exists() else {}
    operator_key = os.environ.get("RECAUDO_BOOTSTRAP_OPERATOR_KEY") or keys.get("operator") or \
        "rk_demo_operator_" + secrets.token_urlsafe(16)
    os.environ["RECAUDO_BOOTSTRAP_OPERATOR_KEY"] = operator_key
    settings = _settings()
    configure_logging("platform", settings.log_level)
    configure_tracing("recaudo-platform", settings.otlp_endpoint)
    platform = make_platform(settings, pool_size=20)
    units = build_units(platform, ALL)
    _refuse_unsafe(platform, units)
    await migrate(settings, units)
    base_url = f"http://{args.host}:{args.port}"
    stop = asyncio.Event()
    background: list[asyncio.Task[None]] = []

    async def ready() -> None:
        keys["operator"] = operator_key
        if not args.no_demo:
            refs = await demo.load(base_url, operator_key, accounts_per_client=args.accounts,
                                   today=dt.datetime.now(dt.UTC).date())
            for client in demo.DEMO_CLIENTS:
                name = f"client:{client['slug']}"
                if name not in keys:
                    _, keys[name] = await platform.keys.create(role="client", client_slug=client["slug"],
                                                               label="demo", now=system_clock())
            if "sre" not in keys:
                _, keys["sre"] = await platform.keys.create(role="sre", label="demo", now=system_clock())
            background.append(asyncio.create_task(demo.pay_over_time(base_url, operator_key, refs, stop=stop)))
        await asyncio.to_thread(_save_keys, keys_file, keys)
        _print_banner(base_url, keys)

    await serve(platform, units, role="all", host=args.host, port=args.port, stop=stop, on_ready=ready)


def _save_keys(path: Path, keys: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys, indent=2))


def _print_banner(base_url: str, keys: dict[str, str]) -> None:
    lines = [
        "", "Recaudo is running (embedded PostgreSQL, postgres transport).", "",
        f"  API base URL   {base_url}/v1", f"  OpenAPI docs   {base_url}/docs", f"  Metrics        {base_url}/metrics",
        "", "  Demo API keys (Authorization: Bearer <key>):",
    ]
    lines += [f"    {name:<24} {key}" for name, key in keys.items()]
    lines += ["", "  Try:",
              f"    curl -H 'Authorization: Bearer {keys.get('client:banco-andino', keys['operator'])}' \\",
              f"      '{base_url}/v1/clients/banco-andino/reports/recovery?group_by=bucket'", "",
              "  Stop with Ctrl-C.", ""]
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="recaudo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run one service (or all) with its API and/or its workers")
    p.add_argument("service", choices=[*ALL, "all"])
    p.add_argument("--role", choices=["api", "worker", "all"], default="all")
    p.add_argument("--host", default=os.environ.get("RECAUDO_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=None,
                   help="HTTP port (default 8000); a worker serves only its probes and metrics, when given one")
    p.add_argument("--no-migrate", action="store_true", help="skip migrations (a Job runs them)")
    p.set_defaults(func=lambda a: asyncio.run(_serve(a)))

    p = sub.add_parser("run", help="the embedded platform with demo data (make run)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--pg-port", type=int, default=54329)
    p.add_argument("--data", default=".local")
    p.add_argument("--accounts", type=int, default=6000, help="demo accounts per client company")
    p.add_argument("--no-demo", action="store_true")
    p.set_defaults(func=lambda a: asyncio.run(_run(a)))

    p = sub.add_parser("migrate", help="bring schemas to their head revisions")
    p.add_argument("services", nargs="*", help=f"some of {ALL}; all by default")
    p.set_defaults(func=lambda a: asyncio.run(_migrate(a)))

    keys = sub.add_parser("keys", help="API keys").add_subparsers(dest="keys_command", required=True)
    p = keys.add_parser("create", help="create a key; prints it as the last line")
    p.add_argument("--role", required=True, choices=["operator", "client", "sre"])
    p.add_argument("--client", help="the client company a client key is bound to")
    p.add_argument("--scope", nargs="*", help="limit an operator key to these client companies")
    p.add_argument("--label")
    p.add_argument("--expires-in", type=int, metavar="DAYS", help="the key stops working after this many days")
    p.set_defaults(func=lambda a: asyncio.run(_keys_create(a)))
    p = keys.add_parser("list", help="every key without its secret: role, client, state, expiry, last 4 characters")
    p.set_defaults(func=lambda a: asyncio.run(_keys_list(a)))

    dlq = sub.add_parser("dlq", help="dead-letter topics").add_subparsers(dest="dlq_command", required=True)
    p = dlq.add_parser("replay", help="re-publish a topic's dead letters to the topic")
    p.add_argument("--topic", required=True, choices=list(TOPIC_NAMES))
    p.add_argument("--limit", type=int)
    p.set_defaults(func=lambda a: asyncio.run(_dlq_replay(a)))

    kafka = sub.add_parser("kafka", help="Kafka topics").add_subparsers(dest="kafka_command", required=True)
    p = kafka.add_parser("reseal", help="copy the topics to a new prefix with every version 1 account event "
                                        "resealed (topics written before #19; services stopped)")
    p.add_argument("--to-prefix", required=True, help="the new topic prefix; its topics must be absent or empty")
    p.add_argument("--from-prefix", help="the old topic prefix (default: RECAUDO_TOPIC_PREFIX)")
    p.set_defaults(func=lambda a: asyncio.run(_kafka_reseal(a)))

    p = sub.add_parser("upload", help="upload a portfolio file and follow its progress")
    p.add_argument("file")
    p.add_argument("--client", required=True)
    p.add_argument("--mapping-profile")
    p.add_argument("--as-of", help="YYYY-MM-DD: the date the file's days past due refer to")
    p.add_argument("--sheet", help="XLSX sheet (the first by default)")
    p.add_argument("--url", default=os.environ.get("RECAUDO_API_URL", "http://127.0.0.1:8000"))
    p.add_argument("--key", help="API key (default: RECAUDO_API_KEY)")
    p.set_defaults(func=_upload)

    aging = sub.add_parser("aging", help="daily aging of days past due").add_subparsers(dest="aging_command",
                                                                                       required=True)
    p = aging.add_parser("run", help="age accounts now (or as of --date); idempotent")
    p.add_argument("--date", help="YYYY-MM-DD in the client companies' time zones (default: each one's today)")
    p.add_argument("--client", help="only this client company (with --date)")
    p.set_defaults(func=lambda a: asyncio.run(_aging(a)))

    model = sub.add_parser("model", help="propensity models").add_subparsers(dest="model_command", required=True)
    p = model.add_parser("train", help="train on the client company's observed outcomes and make it current")
    p.add_argument("--client", required=True)
    p.set_defaults(func=lambda a: asyncio.run(_model_train(a)))

    reporting = sub.add_parser("reporting", help="reporting's read models").add_subparsers(
        dest="reporting_command", required=True)
    p = reporting.add_parser("rebuild", help="replay the topics from the beginning into fresh tables and compare "
                                             "every report figure with the live ones")
    p.add_argument("--client", help="only this client company")
    p.set_defaults(func=lambda a: asyncio.run(_reporting_rebuild(a)))

    deploy = sub.add_parser("deploy", help="deployment files").add_subparsers(dest="deploy_command", required=True)
    p = deploy.add_parser("k8s", help="regenerate deploy/k8s from the code (services, topics, routes, settings)")
    p.add_argument("--root", default=".", help="the repository's root")
    p.set_defaults(func=_deploy_k8s)

    p = sub.add_parser("catalogue", help="write the event catalogue (Markdown)")
    p.add_argument("--out")
    p.set_defaults(func=_catalogue)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
