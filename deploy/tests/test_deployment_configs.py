"""Docker Compose and Kubernetes manifests agree with the native stack.

Neither Docker nor Kubernetes runs on the build machines, so this parses deploy/docker-compose.yml, its
deploy/docker/ files and deploy/k8s/*.yaml and checks them against the native stack's sources of truth:
deploy/flink/config.yaml, deploy/prometheus/prometheus.yml and deploy/stack (DEFAULT_PORTS, TOPICS, job_args,
the job jar path), the job's own parameter list (JobParameter.java) and the DESIGN.md ports. Each check returns
its problems, so the tests can also show that a mutated copy fails.
"""
from __future__ import annotations

import copy
import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[1]
REPO = DEPLOY.parent
sys.path.insert(0, str(DEPLOY))

from stack import job as stack_job  # noqa: E402
from stack import kafka as stack_kafka  # noqa: E402
from stack import state as stack_state  # noqa: E402

COMPOSE_FILE = DEPLOY / "docker-compose.yml"
COMPOSE_PROMETHEUS = DEPLOY / "docker" / "prometheus.yml"
K8S = DEPLOY / "k8s"
JOB_PARAMETERS = REPO / "job" / "src" / "main" / "java" / "io" / "tickstream" / "config" / "JobParameter.java"

# DESIGN.md "Ports" (names as in deploy/stack/state.py DEFAULT_PORTS; Grafana is not part of the native stack).
DESIGN_PORTS = {"kafka": 9092, "postgres": 5432, "flink_rest": 8081, "prometheus": 9090, "producer_metrics": 9091,
                "postgres_exporter": 9187, "kafka_metrics": 9308, "flink_jm_metrics": 9250, "flink_tm_metrics": 9251}
GRAFANA_PORT = 3000

# Compose service -> {port name: port inside the container}. The host side must be the DESIGN.md port.
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
}

# deploy/flink/config.yaml keys that bind the native processes to loopback; containers and pods bind their own.
BIND_KEYS = {"jobmanager.rpc.address", "jobmanager.bind-host", "taskmanager.host", "taskmanager.bind-host",
             "rest.address", "rest.bind-address"}
# Keys the native stack's flink.py adds to config.yaml for its state dir: compose and k8s must set them too.
REQUIRED_EXTRA_KEYS = {"execution.checkpointing.dir", "execution.checkpointing.savepoint-dir",
                       "metrics.reporter.prom.port"}
# In k8s the operator sizes processes from jobManager/taskManager.resource.memory instead.
K8S_MEMORY_KEYS = {"jobmanager.memory.process.size": "jobManager", "taskmanager.memory.process.size": "taskManager"}

# flink.apache.org/v1beta1 FlinkDeployment.spec.flinkVersion values for Flink 2.x (operator FlinkVersion enum,
# release-1.13.0 onwards: v2_0, v2_1, v2_2).
OPERATOR_FLINK_2_VERSIONS = {"v2_0", "v2_1", "v2_2"}

SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|CREDENTIAL", re.I)
ENV_REFERENCE = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*(:?\?[^}]*)?\}$")  # ${VAR}, ${VAR:?message}; no defaults


# --------------------------------------------------------------------------------------------------------------
# Sources


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def load_all(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_yaml(COMPOSE_FILE)


@pytest.fixture(scope="module")
def k8s() -> dict[str, list[dict]]:
    return {p.name: load_all(p) for p in sorted(K8S.glob("*.yaml"))}


@pytest.fixture(scope="module")
def native_flink() -> dict:
    return {k: str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in load_yaml(DEPLOY / "flink" / "config.yaml").items()}


@pytest.fixture(scope="module")
def native_prometheus() -> dict:
    return load_yaml(DEPLOY / "prometheus" / "prometheus.yml")


@pytest.fixture(scope="module")
def native_job_flags(tmp_path_factory) -> list[str]:
    stack = stack_state.Stack(tmp_path_factory.mktemp("stack"))
    stack.set_endpoint("jdbc_url", "jdbc:postgresql://127.0.0.1:5432/tickstream")
    return flags(stack_job.job_args(stack))


def job_parameter_flags() -> set[str]:
    return set(re.findall(r'^\s+[A-Z_]+\("([a-z0-9-]+)"', JOB_PARAMETERS.read_text(), re.M))


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
            out.append({"host_ip": p.get("host_ip", ""), "host_ports": prom_port_range(host) if host else range(0),
                        "container": int(str(p["target"]).split("/")[0]), "spec": p})
            continue
        parts = str(p).split("/")[0].rsplit(":", 2)
        if len(parts) == 3:
            ip, host, container = parts
        elif len(parts) == 2:
            ip, (host, container) = "", parts
        else:
            ip, host, container = "", "", parts[0]
        out.append({"host_ip": ip, "host_ports": prom_port_range(host) if host else range(0),
                    "container": int(container.split("-")[0]), "spec": p})
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
                problems.append(f"{name}: {port_name} should be published as 127.0.0.1:{host} -> {container}, "
                                f"found {[p['spec'] for p in ports]}")
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
                problems.append(f"{where}: metrics.reporter.prom.port {props['metrics.reporter.prom.port']} "
                                f"does not hold {name} {stack_state.DEFAULT_PORTS[name]}")
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
        native_ports = {int(t.rsplit(":", 1)[1]) for sc in native_jobs[name].get("static_configs", [])
                        for t in sc["targets"]}
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
        text = " ".join(map(str, service.get("command") or [])) if isinstance(service.get("command"), list) \
            else str(service.get("command") or "")
        if re.search(r"password[=\s]", text, re.I):
            problems.append(f"{name}: a password on the command line")
    return problems


def check_no_literal_secrets_k8s(docs: dict[str, list[dict]]) -> list[str]:
    problems = []
    for secret in k8s_kind(docs, "Secret"):
        for key, value in {**secret.get("stringData", {}), **secret.get("data", {})}.items():
            if not ENV_REFERENCE.match(str(value)):
                problems.append(f"Secret {secret['metadata']['name']}: {key} holds a literal value")

    def walk(node, where):
        if isinstance(node, dict):
            if "name" in node and SECRET_NAME.search(str(node["name"])) and ("value" in node or "valueFrom" in node):
                if "value" in node or "secretKeyRef" not in node.get("valueFrom", {}):
                    problems.append(f"{where}: env {node['name']} must come from a secretKeyRef")
            for key, value in node.items():
                walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for file, ds in docs.items():
        for d in ds:
            if d.get("kind") != "Secret":
                walk(d, f"{file} {d.get('kind')}")
    return problems


def check_k8s(docs: dict[str, list[dict]], native: dict[str, str], native_flags: list[str],
              parameters: set[str]) -> list[str]:
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
    env = [e for c in spec.get("jobManager", {}).get("podTemplate", {}).get("spec", {}).get("containers", [])
           for e in c.get("env", [])]
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
        problems += [f"FlinkSessionJob {name}: --{f} is not a job parameter"
                     for f in flags(j.get("args", [])) if f not in parameters]
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
    kafka_image = compose["services"]["kafka"]["image"]
    if not re.fullmatch(r"apache/kafka:4\.\d+\.\d+", kafka_image):
        problems.append(f"Kafka image {kafka_image} is not an apache/kafka 4.x release")
    return problems


# --------------------------------------------------------------------------------------------------------------
# Tests


def test_native_ports_are_the_design_ports():
    assert {k: stack_state.DEFAULT_PORTS[k] for k in DESIGN_PORTS} == DESIGN_PORTS


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


def test_k8s_operator_manifests_match_native(k8s, native_flink, native_job_flags):
    assert check_k8s(k8s, native_flink, native_job_flags, job_parameter_flags()) == []


def test_k8s_has_no_literal_secrets(k8s):
    assert check_no_literal_secrets_k8s(k8s) == []


def test_k8s_files_say_what_they_are_for():
    for path in K8S.glob("*.yaml"):
        assert path.read_text().startswith("# Scenario: "), f"{path.name} has no header saying what it is for"


def test_images_run_the_flink_the_job_is_built_for(compose, k8s):
    assert check_versions(compose, k8s) == []


def test_the_checks_catch_mutations(compose, k8s, native_flink, native_job_flags, native_prometheus):
    """Each check fails on a copy with one thing wrong, so a green run means something."""
    parameters = job_parameter_flags()

    bad = copy.deepcopy(compose)
    bad["services"]["kafka"]["ports"] = ["9092:29092"]
    assert check_loopback_only(bad)
    assert not check_compose_ports(bad, stack_state.DEFAULT_PORTS)  # right port, wrong interface: only one check

    bad = copy.deepcopy(compose)
    bad["services"]["jobmanager"]["ports"] = ["127.0.0.1:8082:8081", "127.0.0.1:9250:9250"]
    assert check_compose_ports(bad, stack_state.DEFAULT_PORTS)

    bad = copy.deepcopy(compose)
    bad["services"]["kafka-init"]["command"] = [compose["services"]["kafka-init"]["command"][0]
                                                .replace("create ticks 5", "create ticks 3")]
    assert check_topics(bad, stack_kafka.TOPICS)

    bad = copy.deepcopy(compose)
    bad["services"]["taskmanager"]["environment"]["FLINK_PROPERTIES"] = (
        compose["services"]["taskmanager"]["environment"]["FLINK_PROPERTIES"]
        .replace("state.backend.type: rocksdb", "state.backend.type: hashmap"))
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

    bad_k8s = copy.deepcopy(k8s)
    k8s_kind(bad_k8s, "Secret")[0]["stringData"]["password"] = "tickstream"
    session = k8s_kind(bad_k8s, "FlinkDeployment")[0]
    session["spec"]["jobManager"]["podTemplate"]["spec"]["containers"][0]["env"][0] = {
        "name": "TICKSTREAM_JDBC_PASSWORD", "value": "tickstream"}
    assert len(check_no_literal_secrets_k8s(bad_k8s)) == 2
