"""For SREs: Grafana is provisioned from deploy/grafana with a dashboard per service and one for the business;
every dashboard is valid dashboard JSON whose panels read the provisioned Prometheus data source, with queries that
parse and read only recorded series or metrics the code exports (test_observability.py checks the metric names)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from recaudo.deploy import SERVICES
from recaudo_common.testing import REPOSITORY_ROOT

pytestmark = pytest.mark.integration
GRAFANA = REPOSITORY_ROOT / "deploy" / "grafana"
PANEL_TYPES = {"timeseries", "stat", "bargauge", "gauge", "table", "barchart", "piechart"}


def dashboards() -> dict[str, dict[str, Any]]:
    found = {path.name: json.loads(path.read_text()) for path in sorted((GRAFANA / "dashboards").glob("*.json"))}
    assert found
    return found


def provisioned_datasource() -> dict[str, Any]:
    sources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"]
    [prometheus] = [s for s in sources if s["type"] == "prometheus"]
    assert isinstance(prometheus, dict)
    return prometheus


def queries(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_a_dashboard_for_each_service_and_one_for_the_business() -> None:
    boards = dashboards()
    uids = [b["uid"] for b in boards.values()]
    assert len(uids) == len(set(uids)), "two dashboards share a uid"
    assert len({b["title"] for b in boards.values()}) == len(boards), "two dashboards share a title"
    for name, board in boards.items():
        assert name == f"{board['uid']}.json", "a dashboard's file is named after its uid"
    assert {f"recaudo-{s}" for s in SERVICES} | {"recaudo-business", "recaudo-overview"} <= set(uids)
    for service in SERVICES:
        http = [q for q in queries(boards[f"recaudo-{service}.json"]) if "recaudo_http_request_duration" in q
                or "service:" in q]
        assert http and all(f'service="{service}"' in q for q in http), f"{service}'s dashboard reads another's"
    business = " ".join(queries(boards["recaudo-business.json"]))
    for metric in ("recaudo_portfolio_rows_total", "recaudo_payments_applied_total", "recaudo_recovered_amount_total",
                   "recaudo_messages_sent_total", "recaudo_contact_refusals_total", "/portfolios"):
        assert metric in business, f"the business dashboard does not show {metric}"


def test_every_panel_reads_the_provisioned_prometheus() -> None:
    uid = provisioned_datasource()["uid"]
    for name, board in dashboards().items():
        assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36, name
        variables = {v["name"]: v for v in board.get("templating", {}).get("list", [])}
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), f"{name}: two panels share an id"
        for panel in board["panels"]:
            where = f"{name}: {panel['title']}"
            assert panel["type"] in PANEL_TYPES, where
            grid = panel["gridPos"]
            assert all(isinstance(grid[k], int) for k in "hwxy") and grid["x"] + grid["w"] <= 24, where
            sources = [panel["datasource"], *(t["datasource"] for t in panel["targets"] if "datasource" in t)]
            for source in sources:
                assert source["type"] == "prometheus", where
                # the provisioned data source, or a variable that picks a Prometheus one (the overview's)
                assert source["uid"] == uid or (source["uid"] == "${datasource}"
                                                and variables["datasource"]["query"] == "prometheus"), where
            assert panel["targets"] and all(t["refId"] and t["expr"].strip() for t in panel["targets"]), where


def test_every_query_parses_and_reads_only_recorded_or_exported_series(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: install Debian's prometheus package (scripts/test.sh does)"
    recorded = {r["record"] for g in yaml.safe_load((REPOSITORY_ROOT / "deploy" / "prometheus" / "alerts.yml")
                                                     .read_text())["groups"] for r in g["rules"] if "record" in r}
    rules = []
    for name, board in dashboards().items():
        for i, expr in enumerate(queries(board)):
            read = set(re.findall(r"[a-z_]+:[a-z_]+:[a-z0-9_]+", expr))
            assert read <= recorded, f"{name} reads {sorted(read - recorded)}, which no rule records"
            # Grafana's own variables stand for durations; promtool parses the rest as PromQL.
            promql = expr.replace("$__range", "1h").replace("$__rate_interval", "5m")
            rules.append({"record": f"dashboard:query:{Path(name).stem.replace('-', '_')}_{i}", "expr": promql})
    path = tmp_path / "dashboards.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    check = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_provisioning_loads_the_dashboards_folder_compose_mounts() -> None:
    compose = yaml.safe_load((REPOSITORY_ROOT / "docker-compose.yml").read_text())
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in compose["services"]["grafana"]["volumes"])
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    [provider] = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "recaudo.yml").read_text())["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == mounts["./deploy/grafana/dashboards"]
    source = provisioned_datasource()
    prometheus = compose["services"]["prometheus"]
    assert source["url"] == "http://prometheus:9090" and source["access"] == "proxy"
    assert "prometheus" in compose["services"] and prometheus["image"].startswith("prom/prometheus:")
