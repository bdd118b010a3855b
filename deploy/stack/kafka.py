"""One Kafka 4.x KRaft broker (broker and controller in one process) from the Maven Central runtime."""

from __future__ import annotations

import base64
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor

from . import procs
from .component import ProcessComponent
from .procs import StackError
from .state import REPO, Stack, classpath, java, runtime_lib

# The topics (docs/contracts.md): name -> partitions.
TOPICS = {"ticks": 5, "anomalies": 5, "ticks.dlq": 1}
# Per-topic settings: dead letters keep whole records of any size the ticks topic accepted, plus headers.
TOPIC_CONFIGS = {"ticks": {"max.message.bytes": "2097152"}, "ticks.dlq": {"max.message.bytes": "8388608"}}

NAME = "kafka"
PROCESS = ProcessComponent(NAME, "Kafka")


def bootstrap(stack: Stack) -> str:
    return f"127.0.0.1:{stack.port('kafka')}"


def _server_properties(stack: Stack) -> str:
    port, controller = stack.port("kafka"), stack.port("kafka_controller")
    return "\n".join(
        [
            "# Written by deploy/tickstream: one KRaft node, bound to loopback.",
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers=127.0.0.1:{controller}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={stack.home / 'kafka' / 'data'}",
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=false",
            # Exactly-once sinks keep their transaction timeout below this (the default, 15 minutes).
            "transaction.max.timeout.ms=900000",
            "log.retention.hours=168",
            "",
        ]
    )


def _tool(main_class: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            java(),
            "-Xmx256m",
            "-XX:TieredStopAtLevel=1",
            f"-Dlog4j2.configurationFile={REPO / 'deploy/kafka/log4j2.properties'}",
            "-cp",
            classpath(runtime_lib("kafka")),
            main_class,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def up(stack: Stack, heap: str = "1g") -> None:
    pid = PROCESS.pid(stack)
    if pid and procs.port_open(stack.port("kafka")):
        print(f"  kafka        already running (pid {pid}) on {bootstrap(stack)}")
        create_topics(stack)
        return
    for name in ("kafka", "kafka_controller", "kafka_metrics"):
        procs.require_free_port(stack.port(name), name)
    lib = runtime_lib("kafka")
    props = stack.path("kafka", "server.properties")
    props.write_text(_server_properties(stack))
    if not (stack.home / "kafka" / "data" / "meta.properties").exists():
        result = _tool(
            "kafka.tools.StorageTool",
            "format",
            # `=` form: a random id may start with '-', which the tool would take for a flag.
            "--cluster-id=" + base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode(),
            "-c",
            str(props),
            "--standalone",
        )
        if result.returncode != 0:
            raise StackError(f"formatting Kafka's storage failed:\n{result.stdout}{result.stderr}")
    agent = REPO / "deploy" / "runtime" / "kafka" / "target" / "agent" / "jmx_prometheus_javaagent.jar"
    metrics_port = stack.port("kafka_metrics")
    cmd = [
        java(),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={REPO / 'deploy/kafka/log4j2.properties'}",
        f"-javaagent:{agent}=127.0.0.1:{metrics_port}:{REPO / 'deploy/kafka/jmx-exporter.yaml'}",
        f"-Dtickstream.home={stack.home}",
        "-cp",
        classpath(lib),
        "kafka.Kafka",
        str(props),
    ]
    pid = PROCESS.start(stack, cmd, port=stack.port("kafka"), timeout=90)
    print(f"  kafka        started (pid {pid}) on {bootstrap(stack)}, metrics :{metrics_port}")
    stack.set_endpoint("kafka_bootstrap", bootstrap(stack))
    create_topics(stack)


def create_topics(stack: Stack) -> None:
    def create(item):
        topic, partitions = item
        return topic, _tool(
            "org.apache.kafka.tools.TopicCommand",
            "--bootstrap-server",
            bootstrap(stack),
            "--create",
            "--if-not-exists",
            "--topic",
            topic,
            "--partitions",
            str(partitions),
            "--replication-factor",
            "1",
            *(arg for k, v in TOPIC_CONFIGS.get(topic, {}).items() for arg in ("--config", f"{k}={v}")),
        )

    with ThreadPoolExecutor(len(TOPICS)) as pool:
        for topic, result in pool.map(create, TOPICS.items()):
            if result.returncode != 0:
                raise StackError(f"creating topic {topic} failed:\n{result.stdout}{result.stderr}")
    print(f"  kafka        topics: {', '.join(f'{t} ({p} partitions)' for t, p in TOPICS.items())}")


def down(stack: Stack) -> None:
    PROCESS.down(stack, timeout=30)


def status(stack: Stack) -> dict:
    return PROCESS.status_row(
        stack, stack.port("kafka"), running=PROCESS.pid(stack) is not None and procs.port_open(stack.port("kafka"))
    )
