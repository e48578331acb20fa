"""For SREs: the alert and recording rules pass promtool's check and unit tests, every rule is unit-tested (an
alert both firing and silent), every alert says what happened and links a runbook that exists with its four
sections, the runbooks name only routes, commands, settings and queries that exist, and the SLOs' thresholds are
bucket boundaries of the histograms the code exports (a threshold between two boundaries would silently count
every request as bad, or none)."""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY, Histogram
from prometheus_client.utils import floatToGoString

from recaudo_common import telemetry
from recaudo_common.testing import REPOSITORY_ROOT

pytestmark = pytest.mark.integration
PROMETHEUS = REPOSITORY_ROOT / "deploy" / "prometheus"
RUNBOOKS = REPOSITORY_ROOT / "docs" / "runbooks"
RUNBOOK_SECTIONS = ("## Symptom", "## Impact", "## How to diagnose", "## How to fix")
SEVERITIES = {"page", "ticket"}


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: install Debian's prometheus package (scripts/test.sh does)"
    return found


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def unit_tests() -> list[dict[str, Any]]:
    """Every test group of every promtool test file beside the rules."""
    files = sorted(PROMETHEUS.glob("*_test.yml"))
    assert files
    return [test for path in files for test in yaml.safe_load(path.read_text())["tests"]]


def test_the_rules_pass_promtool_check_and_every_unit_test() -> None:
    check = subprocess.run([promtool(), "check", "rules", "alerts.yml"], cwd=PROMETHEUS, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"SUCCESS: {len(rules())} rules found" in check.stdout
    files = sorted(p.name for p in PROMETHEUS.glob("*_test.yml"))
    tested = subprocess.run([promtool(), "test", "rules", *files], cwd=PROMETHEUS, capture_output=True, text=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.count("SUCCESS") == len(files), tested.stdout


def test_every_alert_says_what_happened_and_links_a_runbook_with_its_four_sections() -> None:
    alerts = [r for r in rules() if "alert" in r]
    assert len({a["alert"] for a in alerts}) >= 15
    for alert in alerts:
        name = alert["alert"]
        assert alert["labels"]["severity"] in SEVERITIES, name
        annotations = alert["annotations"]
        assert annotations["summary"].strip() and annotations["description"].strip(), name
        assert annotations["runbook_url"] == f"docs/runbooks/{name}.md", name
        runbook = REPOSITORY_ROOT / annotations["runbook_url"]
        assert runbook.is_file(), f"{name}: {runbook} is missing"
        text = runbook.read_text()
        assert text.startswith(f"# {name}\n"), name
        positions = [text.find(f"\n{section}\n") for section in RUNBOOK_SECTIONS]
        assert all(p > 0 for p in positions) and positions == sorted(positions), \
            f"{name}: the runbook needs {RUNBOOK_SECTIONS} in that order"
    names = {a["alert"] for a in alerts}
    orphans = sorted(p.stem for p in RUNBOOKS.glob("*.md") if p.stem not in names and p.stem != "README")
    assert not orphans, f"runbooks of alerts that no longer exist: {orphans}"


def test_every_alert_is_tested_firing_and_silent_and_every_recording_rule_by_its_value() -> None:
    fired: set[tuple[str, str]] = set()
    silent: set[str] = set()
    checked_exprs: list[str] = []
    for test in unit_tests():
        for case in test.get("alert_rule_test", []):
            if case.get("exp_alerts"):
                fired |= {(case["alertname"], a["exp_labels"]["severity"]) for a in case["exp_alerts"]}
            else:
                silent.add(case["alertname"])
        checked_exprs += [case["expr"] for case in test.get("promql_expr_test", []) if case.get("exp_samples")]
    alerts = {(r["alert"], r["labels"]["severity"]) for r in rules() if "alert" in r}
    assert not alerts - fired, f"alerts never tested firing: {sorted(alerts - fired)}"
    assert not {a for a, _ in alerts} - silent, f"alerts never tested silent: {sorted({a for a, _ in alerts} - silent)}"
    recorded = {r["record"] for r in rules() if "record" in r}
    assert len(recorded) == 28  # four SLOs, seven windows each
    used = {name for expr in checked_exprs for name in re.findall(r"[a-z_]+:[a-z_]+:[a-z0-9_]+", expr)}
    assert not recorded - used, f"recording rules whose value no test checks: {sorted(recorded - used)}"


def test_alerts_read_only_recorded_ratios_that_exist() -> None:
    """promtool does not check that a recording rule an alert reads exists: a typo would never fire."""
    recorded = {r["record"] for r in rules() if "record" in r}
    for alert in (r for r in rules() if "alert" in r):
        read = set(re.findall(r"[a-z_]+:[a-z_]+:[a-z0-9_]+", alert["expr"]))
        assert read <= recorded, f"{alert['alert']} reads {sorted(read - recorded)}, which no rule records"


def exported_buckets() -> dict[str, set[str]]:
    """Each histogram's bucket boundaries as its `le` label says them on /metrics (prometheus_client keeps them
    in a private attribute: no public API lists a labelled histogram's buckets before it is observed)."""
    histograms = [m for m in vars(telemetry).values() if isinstance(m, Histogram)]
    return {h._name: {floatToGoString(b) for b in h._upper_bounds} for h in histograms}  # type: ignore[no-untyped-call]


def test_the_slo_thresholds_are_bucket_boundaries_of_the_exported_histograms() -> None:
    buckets = exported_buckets()
    thresholds = [(metric, le) for rule in rules()
                  for metric, le in re.findall(r"(recaudo_[a-z_]+)_bucket\{[^}]*le=\"([^\"]+)\"", rule["expr"])]
    assert {m for m, _ in thresholds} >= {"recaudo_http_request_duration_seconds", "recaudo_report_freshness_seconds",
                                          "recaudo_outreach_lateness_seconds"}
    for metric, le in thresholds:
        assert metric in buckets, f"{metric} is no histogram the code exports"
        assert le in buckets[metric], f"{metric} has no bucket le=\"{le}\" (it has {sorted(buckets[metric])})"


def settings_variables() -> set[str]:
    """Every environment variable some settings class reads."""
    from ingest.settings import IngestSettings
    from outreach.settings import OutreachSettings
    from payments.settings import PaymentsSettings
    from recaudo_common.settings import PlatformSettings
    from reporting.settings import ReportingSettings
    from segmentation.settings import SegmentationSettings

    return {variable for cls in (PlatformSettings, IngestSettings, SegmentationSettings, OutreachSettings,
                                 PaymentsSettings, ReportingSettings)
            for field in cls.model_fields for variable in cls.variables_of(field)}


def cli_commands() -> dict[str, set[str]]:
    """The `recaudo` command's subcommands and theirs, read from its click group."""
    import click

    from recaudo import cli

    return {name: set(command.commands) if isinstance(command, click.Group) else set()
            for name, command in cli.recaudo.commands.items()}


def shape(path: str) -> str:
    """A path with its parameters, `{slug}` in a route or `SLUG` in a runbook, as `{}`."""
    return re.sub(r"\{\w+\}|(?<=/)[A-Z][A-Z_]*(?=/|$)", "{}", path)


def test_the_runbooks_name_only_routes_commands_settings_and_queries_that_exist(tmp_path: Path) -> None:
    from recaudo.deploy import SERVICES
    from recaudo.services import openapi_of

    text = "\n".join(p.read_text() for p in sorted(RUNBOOKS.glob("*.md")))
    routes = {shape(path) for service in SERVICES for path in openapi_of(service)["paths"]}
    routes |= {"/healthz", "/readyz", "/metrics"}
    prose = re.sub(r"```promql\n.*?```", "", text, flags=re.S)  # the queries' route matchers are checked below
    for mentioned in set(re.findall(r"(?<![\w.])(/v1/[\w/-]*/(?=['`\s])|/v1/[\w{}/.-]*[\w}])", prose)):
        if mentioned.endswith("/"):  # a prefix, as in a grep
            assert any(r.startswith(mentioned) for r in routes), mentioned
        else:
            assert shape(mentioned) in routes, f"the runbooks name {mentioned}, which no service serves"
    commands = cli_commands()
    # `kubectl -n recaudo ...` names the namespace
    for command, sub in re.findall(r"(?<![\w-])(?<!-n )recaudo ([a-z]+)(?: ([a-z]+))?", text):
        assert command in commands, f"the runbooks name `recaudo {command}`, which does not exist"
        assert not commands[command] or sub in commands[command], f"`recaudo {command} {sub}` does not exist"
    variables = settings_variables()
    unknown = sorted(v for v in set(re.findall(r"RECAUDO_[A-Z_]+[A-Z]", text)) if v not in variables)
    assert not unknown, f"the runbooks name settings no settings class reads: {unknown}"
    # every PromQL block parses, and reads only recorded series or metrics the code exports
    blocks = re.findall(r"```promql\n(.*?)```", text, re.S)
    # one query a line; a line indented further continues the one above
    exprs = [e.strip() for block in blocks for e in re.split(r"\n(?=\S)", textwrap.dedent(block).strip("\n"))]
    exprs = [re.sub(r"\s*\n\s*", " ", e) for e in exprs if e]
    assert len(exprs) >= 30
    exported = {m.name for m in REGISTRY.collect()} | {"up"}
    recorded = {r["record"] for r in rules() if "record" in r}
    for expr in exprs:
        read = {re.sub(r"_(bucket|count|sum|total)$", "", m) for m in re.findall(r"recaudo_[a-z_]+", expr)}
        assert read <= exported, f"{expr} reads {sorted(read - exported)}"
        assert set(re.findall(r"[a-z_]+:[a-z_]+:[a-z0-9_]+", expr)) <= recorded, expr
    path = tmp_path / "runbooks.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "runbooks", "rules": [
        {"record": f"runbook:query:q{i}", "expr": e} for i, e in enumerate(exprs)]}]}))
    check = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_runbooks_name_only_kubernetes_objects_and_labels_the_manifests_have() -> None:
    text = "\n".join(p.read_text() for p in sorted(RUNBOOKS.glob("*.md")))
    objects = [o for path in sorted((REPOSITORY_ROOT / "deploy" / "k8s").rglob("*.yaml"))
               for o in yaml.safe_load_all(path.read_text()) if isinstance(o, dict) and "metadata" in o]
    names = {(o["kind"].lower(), o["metadata"]["name"]) for o in objects}
    kinds = {"deploy": "deployment", "job": "job", "hpa": "horizontalpodautoscaler"}
    mentioned = [(kinds.get(k, k), n) for k, n in
                 re.findall(r"\b(deploy|job)/(recaudo-[a-z-]+)", text)
                 + re.findall(r"\bget (scaledobject|hpa|cluster|kafka) (recaudo[a-z-]*)", text)]
    assert len(mentioned) >= 10
    for kind, name in mentioned:
        assert (kind, name) in names, f"the runbooks name {kind} {name}, which deploy/k8s does not have"
    labels = {f"{k}={v}" for o in objects for k, v in (o["metadata"].get("labels") or {}).items()}
    for selector in set(re.findall(r"-l ([a-z./]+=[a-z-]+)", text)):
        if not selector.startswith("strimzi.io/"):  # Strimzi labels the pods it makes
            assert selector in labels, f"the runbooks select pods by {selector}, which no object has"
