"""Security basics of the stack, each with a test:

- credentials only from the environment or secret files: none in the repository (tracked files scanned for likely
  secrets; documented local-dev defaults and placeholders only where explicitly marked), none in any log of a
  running stack started with a random job password, none in the command lines or the Flink processes'
  environment, none in the configuration the Flink REST API shows (/jobmanager/config, /jobs/<id>/config, ...);
- the job's database role cannot create, alter or drop (the full list on a fresh schema is
  test_sql_schema.py::test_job_role_writes_rows_and_nothing_else; here: the running stack's database, as the job
  logs in);
- every port of the local stack bound to 127.0.0.1, the one exception being Flink's PrometheusReporter (it has no
  bind-address option; README "Known limit");
- all SQL through prepared statements (static check over job/src/main).

The stack is the one test_faults.py drives (books.shared_stack: random TICKSTREAM_JDBC_PASSWORD, exactly-once
job), here completed with the producers, Prometheus and the postgres exporter; this module brings it down.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest
from books import http_json, psql, release_shared_stack, running_job, shared_stack
from conftest import REPO, wait_for


@pytest.fixture(scope="module")
def stack(request):
    stack = shared_stack(request.config)
    stack.run("up")  # every component: producers, Prometheus and the postgres exporter too
    wait_for("the job running", lambda: (j := running_job(stack)) and j["all_running"], timeout=300)
    yield stack
    release_shared_stack()


# --- no credentials in the repository --------------------------------------------------------------------------------
SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\b(ghp|gho|ghs|ghu)_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,}"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "credentials in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:(?P<v>[^@\s/'\"]+)@"),
    # a quoted literal given to something named like a credential: password = "...", "api_key": "...". The name is
    # matched from a word's start only, its keyword found by a lookahead: `\w*(password|...)\w*` tried every position
    # of a long word and backtracked over it for each, quadratic (94 s, then 190 s, on the 70,000-character lines of
    # job/src/test/resources/contract/tick-contract-cases.jsonl); this is linear and matches the same lines.
    "quoted credential": re.compile(
        r"(?i)(?<!\w)(?=\w*?(?:password|passwd|secret|token|api[_-]?key))\w+"
        r"(\s*=\s*|[\"']?:\s+|[\"']:)[\"'](?P<v>[^\"'\s]{4,})[\"']"
    ),
}
# In configuration files an unquoted value counts too: PASSWORD=..., password: ...
CONFIG_PATTERN = re.compile(
    r"(?i)^\s*[\w.-]*(password|passwd|secret|token|api[_-]?key)[\w.-]*\s*[:=]\s*(?P<v>[^\s\"'#]{4,})\s*(#.*)?$"
)
CONFIG_FILES = re.compile(r"\.(env|properties|ya?ml|example|conf|ini|cfg|toml)$|(^|/)\.env")
# A value is not a credential when it comes from somewhere else: a variable, the environment, a file, a template.
NOT_A_VALUE = re.compile(r"^(\$|%|<|\.\.\.|password$|[A-Z][A-Z0-9_]*$)|[{}()]")  # ..., an env var's name
# Explicitly marked exceptions: (path regex, line regex, why).
ALLOWED = [
    (
        r"^deploy/(docker/env|k8s/overlays/[^/]+/[^/]+\.env)\.example$",
        r"=change-me-",
        "placeholders of the example env files, to be replaced",
    ),
    (r"^job/src/test/", r"PASSWORD = \"pw-", "a fake password of a unit test (JobConfigTest)"),
    (r".*", r"(#|//) secret-scan: (sample|local-dev default)\b", "marked on the line itself"),
]


def _findings(name: str, line: str) -> list[str]:
    out = []
    patterns = list(SECRET_PATTERNS.items()) + (
        [("configured credential", CONFIG_PATTERN)] if CONFIG_FILES.search(name) else []
    )
    for kind, pattern in patterns:
        for m in pattern.finditer(line):
            found = m.groupdict().get("v")
            if found is not None and NOT_A_VALUE.search(found):
                continue
            out.append(kind)
    return out


def _tracked_text_files():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for name in filter(None, files.split("\0")):
        path = REPO / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        yield name, data.decode("utf-8", "replace")


def test_no_credentials_in_tracked_files():
    findings = []
    for name, text in _tracked_text_files():
        for number, line in enumerate(text.splitlines(), 1):
            kinds = _findings(name, line)
            if kinds and not any(re.search(p, name) and re.search(l, line) for p, l, _ in ALLOWED):
                findings.append(f"{name}:{number}: {', '.join(kinds)}: {line.strip()[:160]}")
    assert not findings, "likely secrets in tracked files:\n" + "\n".join(findings)


def test_the_secret_scan_finds_what_it_looks_for():
    for name, sample in [
        ("a.py", "password = 'hunter2hunter2'"),  # secret-scan: sample
        ("a.py", "db_Password_main = 'hunter2hunter2'"),  # secret-scan: sample
        ("a.env", "DB_PASSWORD=hunter2hunter2"),
        ("a.yml", "DATA_SOURCE_NAME: postgresql://u:s3cr3tpw@h:5432/db"),  # secret-scan: sample
        ("a.json", '{"api_key": "AbCdEf123456"}'),  # secret-scan: sample
        ("k.pem", "-----BEGIN RSA PRIVATE KEY-----"),  # secret-scan: sample
        ("a.py", "aws = 'AKIAABCDEFGHIJKLMNOP'"),  # secret-scan: sample
    ]:
        assert _findings(name, sample), sample
    for name, harmless in [
        ("a.py", "password = os.environ.get('X')"),
        ("a.py", "env['PGPASSWORD'] = self.password"),
        ("a.yml", 'password: "${PW}"'),
        ("a.yml", "password: $__env{PW}"),
        ("a.md", "postgresql://user:password@host:port/db"),
        ("a.yml", "PASSWORD: ${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"),
    ]:
        assert not _findings(name, harmless), harmless


# --- none in logs, command lines, the Flink processes' environment, the Flink REST API -----------------------------------
DATA_DIRS = ("postgres/data", "kafka/data", "prometheus/data")


def test_job_password_in_no_log_of_the_stack(stack):
    password = stack.job_password().encode()
    scanned, leaks, elsewhere = 0, [], []
    # os.walk, not rglob: Flink creates and deletes its temporary checkpoint dirs while this walks (rglob raised
    # FileNotFoundError on one that vanished); os.walk passes over a directory it can no longer list.
    files = (Path(root) / name for root, _, names in os.walk(stack.home) for name in names)
    for path in files:
        if not path.is_file() or any(str(path.relative_to(stack.home)).startswith(d) for d in DATA_DIRS):
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        is_log = path.suffix in (".log", ".out", ".err", ".txt", ".jsonl") or "logs" in path.parts
        scanned += is_log
        if password in data:
            (leaks if is_log else elsewhere).append(str(path.relative_to(stack.home)))
    assert scanned >= 5, f"only {scanned} logs under {stack.home}"
    assert not leaks, f"the job password is in these logs: {leaks}"
    # The job graph the client uploads (blob store) holds the job's JDBC options by design; nothing else may.
    assert all("blob" in p for p in elsewhere), f"the job password is in these files: {elsewhere}"


def _stack_pids(stack) -> dict[str, int]:
    pids = {name: c["pid"] for name, c in stack.stack_json()["components"].items() if c.get("pid")}
    pidfile = stack.home / "postgres" / "data" / "postmaster.pid"
    if pidfile.exists():
        pids["postgres"] = int(pidfile.read_text().split()[0])
    return pids


def _descendants(pid: int) -> list[int]:
    out, todo = [pid], [pid]
    while todo:
        p = todo.pop()
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            children = []
        out += [int(c) for c in children]
        todo += [int(c) for c in children]
    return out


def test_job_password_not_in_command_lines_nor_in_the_flink_processes_environment(stack):
    password = stack.job_password().encode()
    for name, pid in _stack_pids(stack).items():
        for p in _descendants(pid):
            try:
                assert password not in Path(f"/proc/{p}/cmdline").read_bytes(), f"{name} (pid {p}) command line"
            except FileNotFoundError:
                continue
    for role in ("flink-jobmanager", "flink-taskmanager"):
        environ = Path(f"/proc/{stack.pid(role)}/environ").read_bytes()
        assert password not in environ and b"TICKSTREAM_JDBC_PASSWORD" not in environ, role


def test_job_password_not_in_the_configuration_the_flink_rest_api_shows(stack):
    password = stack.job_password()
    job = running_job(stack)
    paths = [
        "/config",
        "/jobmanager/config",
        "/jobmanager/environment",
        "/jobs/overview",
        f"/jobs/{job['jid']}",
        f"/jobs/{job['jid']}/config",
        f"/jobs/{job['jid']}/jobmanager/config",
        f"/jobs/{job['jid']}/checkpoints/config",
        f"/jobs/{job['jid']}/plan",
    ]
    for tm in http_json(f"{stack.rest}/taskmanagers")["taskmanagers"]:
        paths.append(f"/taskmanagers/{tm['id']}")
    shown = 0
    for path in paths:
        try:
            body = http_json(f"{stack.rest}{path}")
        except OSError:
            continue  # an endpoint this Flink version does not have
        shown += 1
        assert password not in str(body), f"the job password is shown by {path}"
    assert shown >= 6
    # The job's own parameters are there (so the check looks at the right place), the password is not.
    config = http_json(f"{stack.rest}/jobs/{job['jid']}/config")
    assert "jdbc" in str(config).lower() or "kafka" in str(config).lower() or config.get("execution-config")


# --- the job's database role cannot change the schema ---------------------------------------------------------------------
def test_job_role_on_the_running_stack_cannot_create_alter_or_drop(stack):
    password = stack.job_password()
    assert psql(stack, "SELECT current_user", user="tickstream", password=password).stdout.split()[-1] == "tickstream"
    for ddl in (
        "CREATE TABLE intruder (x int)",
        "ALTER TABLE ticks ADD COLUMN intruder int",
        "DROP TABLE anomalies",
        "CREATE INDEX intruder ON ticks (price)",
        "TRUNCATE candles_1m",
        "CREATE ROLE intruder",
        "CREATE DATABASE intruder",
        "ALTER ROLE tickstream CREATEROLE",
        "CREATE SCHEMA intruder",
        "CREATE FUNCTION intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    ):
        result = psql(stack, ddl, user="tickstream", password=password, check=False)
        assert result.returncode != 0 and ("permission denied" in result.stderr or "must be" in result.stderr), (
            f"the job role could run {ddl!r}: {result.stdout}{result.stderr}"
        )
    # and the local-dev default does not open it when a password is set
    local_default = "tickstream"  # secret-scan: local-dev default
    wrong = psql(stack, "SELECT 1", user="tickstream", password=local_default, check=False)
    assert wrong.returncode != 0 and "authentication failed" in wrong.stderr


# --- every port on 127.0.0.1 -----------------------------------------------------------------------------------------------
LOOPBACK = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}


def _listening() -> dict[int, tuple[str, int]]:
    """socket inode -> (hex local address, port) of every listening TCP socket (IPv4 and IPv6)."""
    out = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                address, port = fields[1].split(":")
                out[int(fields[9])] = (address, int(port, 16))
    return out


def test_every_port_of_the_stack_listens_on_loopback_only_except_flinks_prometheus_reporter(stack):
    listening = _listening()
    ports = stack.stack_json()["ports"]
    reporter_ports = {ports["flink_jm_metrics"], ports["flink_tm_metrics"]}
    seen, exposed = [], []
    for name, pid in _stack_pids(stack).items():
        for p in _descendants(pid):
            try:
                fds = list(Path(f"/proc/{p}/fd").iterdir())
            except OSError:
                continue
            for fd in fds:
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                m = re.fullmatch(r"socket:\[(\d+)\]", target)
                if m and int(m.group(1)) in listening:
                    address, port = listening[int(m.group(1))]
                    seen.append((name, port))
                    if address not in LOOPBACK:
                        exposed.append((name, port, address))
    seen_ports = {port for _, port in seen}
    for name in (
        "kafka",
        "kafka_controller",
        "kafka_metrics",
        "postgres",
        "flink_rest",
        "flink_rpc",
        "prometheus",
        "postgres_exporter",
        "producer_metrics",
    ):
        assert ports[name] in seen_ports, f"{name} ({ports[name]}) not found listening: {sorted(seen)}"
    unexpected = [e for e in exposed if e[1] not in reporter_ports]
    assert not unexpected, f"listening beyond 127.0.0.1: {unexpected}"
    # The known exception: Flink's PrometheusReporter has no bind-address option (README "Known limit").
    assert {e[1] for e in exposed} <= reporter_ports
    print(f"\nlistening sockets of the stack: {len(seen)}; on all interfaces (PrometheusReporter only): {exposed}")


# --- all SQL prepared ----------------------------------------------------------------------------------------------------------
SQL_WORDS = re.compile(
    r"\b(INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|SELECT\s.+\sFROM|CREATE|DROP|ALTER|TRUNCATE)\b", re.I
)
STRING = r'"(?:[^"\\]|\\.)*"'
CONSTANT = re.compile(r"static\s+final\s+String\s+(\w+)\s*=\s*((?:" + STRING + r"\s*\+?\s*)+);")


def test_all_sql_of_the_job_is_prepared_with_placeholders():
    sources = sorted((REPO / "job" / "src" / "main" / "java").rglob("*.java"))
    assert sources
    constants, problems = {}, []
    for src in sources:
        text = src.read_text()
        rel = src.relative_to(REPO)
        code = re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.S)
        if re.search(r"(?<![A-Za-z])Statement\b", code) or "createStatement" in code:
            problems.append(f"{rel}: uses java.sql.Statement (unprepared SQL)")
        for m in CONSTANT.finditer(code):
            sql = "".join(re.findall(STRING, m.group(2)))
            if SQL_WORDS.search(sql):
                constants[m.group(1)] = (rel, sql)
        # Every string literal that looks like SQL must be part of such a constant (no SQL built at run time).
        spans = [m.span() for m in CONSTANT.finditer(code)]
        for m in re.finditer(STRING, code):
            if (
                SQL_WORDS.search(m.group(0))
                and re.search(r"\b(INTO|FROM|SET)\b", m.group(0))
                and not any(a <= m.start() < b for a, b in spans)
            ):
                problems.append(f"{rel}: SQL outside a constant: {m.group(0)[:100]}")
        jdbc_calls = (
            r"\b(executeQuery|executeUpdate|execute|addBatch)"
            if "java.sql" in code
            else r"\b(executeQuery|executeUpdate)"
        )
        # An argument that is a lambda or a cast (an executor's execute(() -> ...)) is not SQL.
        for call in re.finditer(jdbc_calls + r"\s*\(\s*[^)\s(]", code):
            problems.append(f"{rel}: {call.group(1)}(...) with an argument: SQL run unprepared")
    assert constants, "no SQL constants found in job/src/main"
    for name, (rel, sql) in constants.items():
        if re.search(r"\b(VALUES|WHERE)\b", sql, re.I) and "?" not in sql:
            problems.append(f"{rel}: {name} has values but no ? placeholders: {sql[:120]}")
        if re.search(r"'[^']*'", sql.replace("''", "")):
            problems.append(f"{rel}: {name} holds a quoted literal: {sql[:120]}")
        used = [m.group(0) for src in sources for m in re.finditer(rf"\w+\s*\(\s*{name}\b", src.read_text())]
        # COPY ... FROM STDIN streams its rows as data (never SQL text), like bound parameters.
        copy_from_stdin = (
            re.fullmatch(r"COPY \w+( \([\w, ]+\))? FROM STDIN( \(FORMAT binary\))?", sql.strip()) is not None
        )
        allowed = (
            r"(withQueryStatement|prepareStatement|copyIn)\b"
            if copy_from_stdin
            else r"(withQueryStatement|prepareStatement)\b"
        )
        assert used and all(re.match(allowed, u) for u in used), (name, used)
    assert not problems, "\n".join(problems)
