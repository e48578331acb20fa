#!/usr/bin/env bash
# make test: installs what it needs, starts embedded PostgreSQL and real Kafka brokers (unless
# RECAUDO_DATABASE_URL / RECAUDO_KAFKA_BOOTSTRAP are given), runs lint and every test level, stops what it started.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
UV="${UV:-uv}"

started_pg=""; started_kafka=""; started_kafka39=""
cleanup() {
  [ -n "$started_kafka" ] && scripts/kafka.sh stop || true
  [ -n "$started_kafka39" ] && KAFKA_VERSION=3.9.2 KAFKA_PORT=19192 scripts/kafka.sh stop || true
  [ -n "$started_pg" ] && "$UV" run --no-sync python -m recaudo_common.embedded_pg stop --data .local/test-postgres || true
}
trap cleanup EXIT

"$UV" sync --all-packages --frozen --quiet

# Browser tests drive Debian's Chromium with Playwright (the debtor page, the dashboard); the alert rules are
# checked with promtool from Debian's prometheus package.
scripts/apt-install.sh /usr/bin/chromium=chromium promtool=prometheus

# PostgreSQL and the two brokers start in the background while the lint runs, rather than after it (the run has
# 20 minutes); the brokers one after the other, as they share Maven's local repository on a first fetch. Each
# stage prints its time of day, so a slow run says where its time went.
pg_pid=""; kafka_pid=""
if [ -z "${RECAUDO_DATABASE_URL:-}" ]; then
  rm -rf .local/test-postgres
  mkdir -p .local
  started_pg=1
  "$UV" run --no-sync python -m recaudo_common.embedded_pg start --data .local/test-postgres \
    --port "${RECAUDO_TEST_PG_PORT:-54339}" --database postgres --fast > .local/test-postgres.url &
  pg_pid=$!
fi
need_kafka=""; need_kafka39=""
[ -z "${RECAUDO_KAFKA_BOOTSTRAP:-}" ] && need_kafka=1 && started_kafka=1 && rm -rf .local/kafka-19092
[ -z "${RECAUDO_KAFKA39_BOOTSTRAP:-}" ] && need_kafka39=1 && started_kafka39=1 && rm -rf .local/kafka-19192
if [ -n "$need_kafka$need_kafka39" ]; then
  (
    [ -z "$need_kafka" ] || scripts/kafka.sh start
    [ -z "$need_kafka39" ] || KAFKA_VERSION=3.9.2 KAFKA_PORT=19192 scripts/kafka.sh start
  ) &
  kafka_pid=$!
fi

echo "== lint ($(date +%T))"
"$UV" run --no-sync ruff check .
"$UV" run --no-sync mypy --strict libs/*/src services/*/src
# The benchmarks apart (checked with the services' sources in one run, mypy misreads some of their modules): a
# benchmark that no longer imports fails here, not at `make bench`.
"$UV" run --no-sync mypy --strict bench

if [ -n "$pg_pid" ]; then
  wait "$pg_pid"
  RECAUDO_DATABASE_URL=$(tail -n 1 .local/test-postgres.url)
  export RECAUDO_DATABASE_URL
fi
[ -z "$kafka_pid" ] || wait "$kafka_pid"
[ -z "$need_kafka" ] || export RECAUDO_KAFKA_BOOTSTRAP=127.0.0.1:19092
[ -z "$need_kafka39" ] || export RECAUDO_KAFKA39_BOOTSTRAP=127.0.0.1:19192
echo "== PostgreSQL: $RECAUDO_DATABASE_URL"
echo "== Kafka: $RECAUDO_KAFKA_BOOTSTRAP (and 3.9.2 at $RECAUDO_KAFKA39_BOOTSTRAP)"

echo "== tests (unit, integration, e2e) ($(date +%T))"
# Four workers (pytest-xdist) on two cores: most of a test's time is spent waiting on PostgreSQL, Kafka, a browser
# or a child process, and every test has its own database and topic prefix, so they run side by side (one at a
# time: 33 minutes; four: 17). worksteal keeps the long tests (chaos, crash safety) from ending the run alone.
# The slowest tests are printed so a run that creeps toward the 20-minute budget says where the time went.
"$UV" run --no-sync pytest -m "unit or integration or e2e" -n "${RECAUDO_TEST_WORKERS:-4}" --dist worksteal \
  --durations=30 "$@"
