"""Stacks of one component shared by a module's tests (schema, exporter role, benchmark, Kafka probe): started once
per module on free ports in their own state dir under deploy/target, stopped (`down`) at teardown whatever happened.
The whole stack is conftest.whole_stack."""

import csv
import io
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import REPO, StackCli


def _psql_binary() -> str:
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/psql"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return str(versions[-1]) if versions else "psql"


PSQL = _psql_binary()


class Database:
    """psql against the stack's database as one role (password through the environment, never argv)."""

    def __init__(self, host: str, port: int, database: str, user: str, password: str):
        self.host, self.port, self.database, self.user, self.password = host, port, database, user, password

    def as_role(self, user: str, password: str, database: str | None = None) -> "Database":
        return Database(self.host, self.port, database or self.database, user, password)

    def run(
        self, sql: str | None = None, file: Path | None = None, check: bool = True, options: str = ""
    ) -> subprocess.CompletedProcess:
        """psql -c sql or -f file; options are session settings (PGOPTIONS, e.g. "-c tickstream.ticks_retention=off")."""
        cmd = [
            PSQL,
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-d",
            self.database,
            "--csv",
        ]
        cmd += ["-f", str(file)] if file else ["-c", sql]
        env = dict(os.environ, PGPASSWORD=self.password, PGCONNECT_TIMEOUT="10", PGOPTIONS=options)
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"psql as {self.user} failed: {result.stderr.strip()}\n--- SQL:\n{sql or file}")
        return result

    def rows(self, sql: str) -> list[dict]:
        """The rows of one query (psql --csv), as dicts by column name."""
        return list(csv.DictReader(io.StringIO(self.run(sql).stdout)))

    def value(self, sql: str):
        rows = list(csv.reader(io.StringIO(self.run(sql).stdout)))
        return rows[1][0] if len(rows) > 1 else None


def superuser(stack: StackCli) -> Database:
    pg = stack.status()["endpoints"]["postgres"]
    password = (stack.home / "postgres" / "superuser.password").read_text().strip()
    return Database(pg["host"], int(pg["port"]), pg["database"], "postgres", password)


def role_password(role: str) -> str:
    env = {
        "tickstream": "TICKSTREAM_JDBC_PASSWORD",
        "grafana": "TICKSTREAM_GRAFANA_PASSWORD",
        "postgres_exporter": "TICKSTREAM_POSTGRES_EXPORTER_PASSWORD",
    }[role]
    return os.environ.get(env, role)


def _stack(name: str, *up_args: str):
    stack = StackCli(REPO / "deploy" / "target" / f"{name}-{uuid.uuid4().hex[:8]}")
    try:
        stack.run("up", "--free-ports", *up_args)
        yield stack
    finally:
        down = stack.run("down", check=False)
        assert down.returncode == 0, down.stdout + down.stderr


@pytest.fixture(scope="module")
def postgres_stack():
    """Only the private PostgreSQL, with sql/ applied once by `up`."""
    yield from _stack("schema", "--only", "postgres")


@pytest.fixture(scope="module")
def kafka_stack():
    """Only the Kafka broker (with the topics)."""
    yield from _stack("kafka", "--only", "kafka")
