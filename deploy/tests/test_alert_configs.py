"""The shipped alerting configuration is valid for the tools that run it: the rules for Prometheus' promtool (as
shipped and as the stack tests render them), Alertmanager's config and its commented Slack and email examples for
amtool; every rule has a `for:`, a severity and a summary that says what to do; no secret in either file."""

import re
import shutil
import subprocess

import pytest
import yaml
from alerting import ALERTMANAGER, RULES, alertmanager_config, rules_for_tests, uncommented_examples

PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")
needs_promtool = pytest.mark.skipif(not PROMTOOL, reason="promtool (Debian package prometheus) is not installed")
needs_amtool = pytest.mark.skipif(not AMTOOL, reason="amtool (Debian package prometheus-alertmanager) is not installed")
RULE_TESTS = RULES.parents[2] / "tests" / "tickstream.rules.test.yml"
# What the alerts must cover (issue: job, checkpoints, Kafka lag, DLQ, dead feed, reconnects, PostgreSQL, targets).
EXPECTED = {
    "TickStreamJobNotRunning",
    "TickStreamJobRestarting",
    "TickStreamCheckpointsFailing",
    "TickStreamCheckpointsSlow",
    "TickStreamKafkaLagGrowing",
    "TickStreamDeadLettersAboveNormal",
    "TickStreamVenueSilent",
    "TickStreamReconnectStorm",
    "TickStreamPostgresDown",
    "TickStreamRowsNotGrowing",
    "TickStreamTargetDown",
}


def rules():
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def test_every_rule_has_for_severity_and_what_to_do():
    assert {r["alert"] for r in rules()} == EXPECTED
    for r in rules():
        assert re.fullmatch(r"[1-9][0-9]*[smh]", str(r.get("for", ""))), r["alert"]
        assert r["labels"]["severity"] in ("warning", "critical"), r["alert"]
        summary = r["annotations"]["summary"]
        assert len(summary) > 80 and re.search(r"[Cc]heck|[Ll]ook|`deploy/tickstream|[Rr]ead", summary), r["alert"]


@needs_promtool
def test_promtool_accepts_the_shipped_and_the_test_rules(tmp_path):
    rendered = tmp_path / "test.rules.yml"
    rendered.write_text(yaml.safe_dump(rules_for_tests(), sort_keys=False))
    for path in (RULES, rendered):
        result = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
        assert result.returncode == 0 and f"{len(EXPECTED)} rules found" in result.stdout, result.stdout + result.stderr


@needs_promtool
def test_promtool_rule_unit_tests():
    """The shipped rules with their production timings, on simulated series (deploy/tests/tickstream.rules.test.yml)."""
    result = subprocess.run([PROMTOOL, "test", "rules", str(RULE_TESTS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_amtool
@pytest.mark.parametrize("variant", ["shipped", "examples uncommented", "test"])
def test_amtool_accepts_the_config(tmp_path, variant):
    text = ALERTMANAGER.read_text()
    if variant == "examples uncommented":
        text = uncommented_examples(text)
        assert text.count("api_url_file:") == 1 and text.count("auth_password_file:") == 1
    elif variant == "test":
        text = yaml.safe_dump(alertmanager_config(19097))
    path = tmp_path / "alertmanager.yml"
    path.write_text(text)
    result = subprocess.run([AMTOOL, "check-config", str(path)], capture_output=True, text=True)
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr
    if variant == "examples uncommented":
        assert "4 receivers" in result.stdout, result.stdout


def test_no_secret_in_the_alerting_config():
    for path in (ALERTMANAGER, RULES):
        text = path.read_text()
        assert not re.search(r"(api_url|auth_password|routing_key|service_key|token|secret)\s*:", text, re.I), path
        assert "hooks.slack.com" not in text, path


def test_anomaly_route_groups_across_venues_and_never_repeats_an_active_anomaly():
    config = yaml.safe_load(ALERTMANAGER.read_text())
    route = next(r for r in config["route"]["routes"] if 'alertname="TickStreamAnomaly"' in r["matchers"])
    assert set(route["group_by"]) == {"alertname", "type", "asset", "quote_class"}
    receiver = next(r for r in config["receivers"] if r["name"] == route["receiver"])
    assert receiver["webhook_configs"][0]["send_resolved"] is False
    hours = int(route["repeat_interval"].rstrip("h"))
    assert hours * 60 > 10, "repeat_interval must outlast the notifier's --active-for (10 min)"


@needs_promtool
def test_the_rule_unit_tests_catch_a_changed_timing(tmp_path):
    """The unit tests fail when a rule's for: or threshold changes, so a green run pins the shipped values."""
    rules_dir = tmp_path / "prometheus" / "rules"
    rules_dir.mkdir(parents=True)
    (tmp_path / "tests").mkdir()
    shutil.copy(RULE_TESTS, tmp_path / "tests" / RULE_TESTS.name)
    for old, new in (("for: 2m", "for: 1m"), ("> 60000", "> 95000"), ("> 0.1) >= 1", ">= 0) >= 1")):
        text = RULES.read_text()
        assert old in text
        (rules_dir / RULES.name).write_text(text.replace(old, new, 1))
        result = subprocess.run(
            [PROMTOOL, "test", "rules", str(tmp_path / "tests" / RULE_TESTS.name)], capture_output=True, text=True
        )
        assert result.returncode != 0, f"{old} -> {new} went unnoticed"
