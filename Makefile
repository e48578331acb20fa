# Recaudo: `make run` starts the platform on its embedded default; `make test` runs the whole suite.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
export UV

.PHONY: run test test-full lint fmt install catalogue manifests up down kafka-start kafka-stop clean bench chaos fuzz

install: ## install uv (if missing) and every dependency from the lock file
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
	@$(UV) sync --all-packages --frozen --quiet

run: install ## the whole platform: embedded PostgreSQL, postgres transport, demo data
	@$(UV) run --no-sync recaudo run

test: install ## lint, then unit + integration + e2e against real PostgreSQL and Kafka
	@bash scripts/test.sh

test-full: install ## make test with the heavy tests at full size (RECAUDO_TEST_SIZE=full; docs/testing.md)
	@RECAUDO_TEST_SIZE=full bash scripts/test.sh

lint: install
	@$(UV) run --no-sync ruff check .
	@$(UV) run --no-sync mypy --strict libs/*/src services/*/src
	@$(UV) run --no-sync mypy --strict bench

fmt: install
	@$(UV) run --no-sync ruff check --fix .

catalogue: install ## regenerate docs/events.md from the event models
	@$(UV) run --no-sync recaudo catalogue --out docs/events.md

manifests: install ## regenerate deploy/k8s from the code (services, topics, routes, settings)
	@$(UV) run --no-sync recaudo deploy k8s

up: ## the platform on Kafka and PostgreSQL in Docker (docker-compose.yml), with Prometheus, Grafana and Jaeger
	docker compose up -d --build

down:
	docker compose down

kafka-start: ## a local Kafka broker (KRaft) on 127.0.0.1:19092
	@bash scripts/kafka.sh start

kafka-stop:
	@bash scripts/kafka.sh stop

clean:
	-@$(UV) run --no-sync python -m recaudo_common.embedded_pg stop --data .local/postgres
	rm -rf .local

bench: install ## benchmarks at full size; writes docs/benchmarks.md (BENCH_ROWS to change the size)
	@bash scripts/apt-install.sh wrk=wrk
	@$(UV) run --no-sync python -m bench.ingest
	@$(UV) run --no-sync python -m bench.aging
	@$(UV) run --no-sync python -m bench.webhooks
	@$(UV) run --no-sync python -m bench.outreach
	@$(UV) run --no-sync python -m bench.reporting
	@$(UV) run --no-sync python -m bench.pipeline
	@$(UV) run --no-sync python -m bench.personal_data
	@$(UV) run --no-sync python -m bench.conversations
	@$(UV) run --no-sync python -m bench.gateways
	@$(UV) run --no-sync python -m bench.fairness
	@$(UV) run --no-sync python -m bench.log_reads
	@$(UV) run --no-sync python -m bench.events_together

chaos: install ## fault injection at full size: 100,000 accounts, kills, broker and PostgreSQL restarts
	@CHAOS_ACCOUNTS=$${CHAOS_ACCOUNTS:-100000} CHAOS_PAYMENTS=$${CHAOS_PAYMENTS:-20000} CHAOS_PAYMENT_RATE=$${CHAOS_PAYMENT_RATE:-50} \
	  CHAOS_KILL_EVERY=$${CHAOS_KILL_EVERY:-20,60} \
	  CHAOS_RECORD=1 CI=true $(UV) run --no-sync pytest tests/chaos -s -q -p no:cacheprovider --timeout 10800

fuzz: install ## schemathesis at 200 examples an operation against every service's OpenAPI
	@FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} CI=true bash scripts/test.sh tests/fuzz
