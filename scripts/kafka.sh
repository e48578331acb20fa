#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, combined broker+controller) on 127.0.0.1, from the broker
# jars on Maven Central. Usage: scripts/kafka.sh fetch|start|stop|status
#   KAFKA_VERSION (default 4.4.0), KAFKA_PORT (default 19092; the controller listens on KAFKA_PORT+1),
#   RECAUDO_CACHE (default .cache) holds the jars, KAFKA_DATA (default .local/kafka-$KAFKA_PORT) the logs,
#   KAFKA_START_TIMEOUT_S (default 120) and KAFKA_STOP_TIMEOUT_S (default 60) how long start waits for the
#   listener and stop for a controlled shutdown before SIGKILL (a loaded two-core machine needs the margin).
set -euo pipefail

VERSION="${KAFKA_VERSION:-4.4.0}"
PORT="${KAFKA_PORT:-19092}"
CONTROLLER_PORT=$((PORT + 1))
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${RECAUDO_CACHE:-$ROOT/.cache}/kafka/$VERSION"
DATA="${KAFKA_DATA:-$ROOT/.local/kafka-$PORT}"
PIDFILE="$DATA/broker.pid"
START_TIMEOUT_S="${KAFKA_START_TIMEOUT_S:-120}"
STOP_TIMEOUT_S="${KAFKA_STOP_TIMEOUT_S:-60}"

fetch() {
  [ -f "$CACHE/libs/.complete" ] && return 0
  mkdir -p "$CACHE"
  local logging
  case "$VERSION" in
    3.*) logging='<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>' ;;
    *) logging='<dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>' ;;
  esac
  cat > "$CACHE/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.recaudo</groupId><artifactId>kafka-broker</artifactId><version>$VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$VERSION</version></dependency>
    $logging
  </dependencies>
</project>
POM
  echo "fetching Kafka $VERSION broker jars from Maven Central ..." >&2
  mvn -q -B -f "$CACHE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$CACHE/libs" \
      -DincludeScope=runtime >&2
  touch "$CACHE/libs/.complete"
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

start() {
  fetch
  if listening; then echo "Kafka already listening on 127.0.0.1:$PORT" >&2; return 0; fi
  mkdir -p "$DATA/logs"
  cat > "$DATA/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA/logs
num.partitions=6
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS
  cat > "$DATA/log4j2.properties" <<'L4J'
rootLogger.level=WARN
rootLogger.appenderRef.file.ref=FILE
appender.file.type=File
appender.file.name=FILE
appender.file.fileName=${sys:kafka.logs.dir}/server.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
L4J
  cat > "$DATA/log4j.properties" <<L4J
log4j.rootLogger=WARN, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=$DATA/server.log
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=[%d] %p %m (%c)%n
L4J
  local cp="$CACHE/libs/*"
  if [ ! -f "$DATA/logs/meta.properties" ]; then
    local cluster_id
    cluster_id=$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    java -cp "$cp" kafka.tools.StorageTool format -t "$cluster_id" -c "$DATA/server.properties" >"$DATA/format.log" 2>&1
  fi
  nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true -Dkafka.logs.dir="$DATA" \
    -Dlog4j2.configurationFile="$DATA/log4j2.properties" -Dlog4j.configuration="file:$DATA/log4j.properties" \
    -cp "$cp" kafka.Kafka "$DATA/server.properties" >"$DATA/stdout.log" 2>&1 &
  echo $! > "$PIDFILE"
  for _ in $(seq 1 $((START_TIMEOUT_S * 2))); do
    if listening; then echo "Kafka $VERSION listening on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))" >&2; return 0; fi
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
      echo "Kafka failed to start; see $DATA/stdout.log and $DATA/server.log" >&2; tail -20 "$DATA/stdout.log" >&2; return 1
    fi
    sleep 0.5
  done
  # Given up: the broker must not go on starting behind the caller's back, holding the data directory that
  # the caller may start another broker on.
  echo "Kafka did not listen on $PORT within $START_TIMEOUT_S s; stopping it" >&2
  stop
  return 1
}

stop() {
  [ -f "$PIDFILE" ] || return 0
  local pid; pid=$(cat "$PIDFILE")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    # A controlled shutdown on a busy machine can take a while; SIGKILL is the last resort.
    for _ in $(seq 1 $((STOP_TIMEOUT_S * 2))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
}

status() { if listening; then echo "listening on 127.0.0.1:$PORT"; else echo "not running"; exit 1; fi; }

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 fetch|start|stop|status" >&2; exit 2 ;;
esac
