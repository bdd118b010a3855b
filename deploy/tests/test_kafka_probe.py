"""The compose stack's Kafka health probe (deploy/docker/kafka/healthcheck.sh) against a real broker: the Kafka
of the native stack, the version the compose file runs (test_deployment_configs.py checks that they agree).
Healthy while the broker serves requests, unhealthy once it is gone; test_deployment_configs.py covers the
answers of something that is not a healthy broker."""

import subprocess
import time

from conftest import REPO
from stack_fixtures import kafka_stack  # noqa: F401 (fixture)

PROBE = REPO / "deploy" / "docker" / "kafka" / "healthcheck.sh"


def probe(port: int) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(PROBE), f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=30)


def test_probe_follows_a_real_broker(kafka_stack):
    port = kafka_stack.port("kafka")
    start = time.monotonic()
    results = [probe(port) for _ in range(20)]
    took = (time.monotonic() - start) / len(results)
    assert [r.returncode for r in results] == [0] * 20, results[-1].stderr
    print(f"probe: {took * 1000:.1f} ms per probe against Kafka on 127.0.0.1:{port}")
    kafka_stack.run("down", "--only", "kafka")
    result = probe(port)
    assert result.returncode != 0 and "Connection refused" in result.stderr, result.stderr
