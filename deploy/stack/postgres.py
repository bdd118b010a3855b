"""PostgreSQL for the stack: the server given by TICKSTREAM_PG_ADMIN_URL when it answers, else a private
instance in the state directory. Either way the sql/ schema is applied and the roles get their passwords."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

from . import procs
from .procs import StackError
from .state import REPO, Stack

NAME = "postgres"
DATABASE = os.environ.get("TICKSTREAM_DB", "tickstream")
# Roles (docs/contracts.md); passwords from the environment (the local stack's defaults are the role names).
ROLE_PASSWORD_ENV = {
    "tickstream": "TICKSTREAM_JDBC_PASSWORD",
    "grafana": "TICKSTREAM_GRAFANA_PASSWORD",
    "postgres_exporter": "TICKSTREAM_POSTGRES_EXPORTER_PASSWORD",
}


def role_password(role: str) -> str:
    """A role's password: its ROLE_PASSWORD_ENV variable, else the local stack's default (the role name)."""
    return os.environ.get(ROLE_PASSWORD_ENV[role], role)


def job_password() -> str:
    """The job role's password: TICKSTREAM_JDBC_PASSWORD, else the local stack's default (the role name)."""
    return role_password("tickstream")


def server_bindir() -> Path:
    """The newest PostgreSQL server binaries: Debian keeps them in /usr/lib/postgresql/<major>/bin."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0
    )
    if candidates and (candidates[-1] / "initdb").exists():
        return candidates[-1]
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise StackError(
        "no PostgreSQL server found: install it (Debian: apt-get install postgresql; macOS: "
        "brew install postgresql@15) or point TICKSTREAM_PG_ADMIN_URL at a running server"
    )


def _as_server_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; as root, run its tools as the 'postgres' system user."""
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *cmd]
    return ["su", "-s", "/bin/sh", "postgres", "-c", " ".join(f"'{c}'" for c in cmd)]


def _chown_to_server_user(*paths: Path) -> None:
    if os.geteuid() == 0:
        import pwd

        user = pwd.getpwnam("postgres")
        for p in paths:
            os.chown(p, user.pw_uid, user.pw_gid)


class Admin:
    """A superuser connection, handed to psql through the environment so no password shows in `ps`."""

    def __init__(self, host: str, port: int, user: str, password: str, maintenance_db: str = "postgres"):
        self.host, self.port, self.user, self.password, self.maintenance_db = host, port, user, password, maintenance_db

    @classmethod
    def from_url(cls, url: str) -> Admin:
        u = urlparse(url)
        if u.scheme not in ("postgres", "postgresql"):
            raise StackError("TICKSTREAM_PG_ADMIN_URL must look like postgresql://user:password@host:port/db")
        return cls(
            u.hostname or "127.0.0.1",
            u.port or 5432,
            unquote(u.username or "postgres"),
            unquote(u.password or ""),
            (u.path or "/postgres").lstrip("/") or "postgres",
        )

    def env(self) -> dict:
        env = dict(os.environ, PGHOST=self.host, PGPORT=str(self.port), PGUSER=self.user, PGCONNECT_TIMEOUT="5")
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def command(self, db: str | None = None) -> list[str]:
        """psql with unaligned, tuples-only output that stops at the first error (run it with env())."""
        return [str(psql_binary()), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db or self.maintenance_db]

    def psql(self, sql: str, db: str | None = None, file: Path | None = None, secret: str = "") -> str:
        """Runs sql (or a file); on failure a StackError that never shows `secret` (a password in the statement)."""
        cmd = self.command(db) + (["-f", str(file)] if file else [])
        result = subprocess.run(
            cmd, input=None if file else sql, env=self.env(), capture_output=True, text=True, timeout=300
        )
        if result.returncode != 0:
            what = file.name if file else sql.strip().splitlines()[0][:80]
            message = f"psql failed on {what}: {result.stderr.strip()}"
            # psql quotes the statement back on some errors (LINE 1: ...): a password in it must not reach a message.
            for shown in filter(None, (secret, secret.replace("'", "''"))):
                message = message.replace(shown, "***")
            raise StackError(_redacted(message))
        return result.stdout

    def reachable(self) -> bool:
        try:
            self.psql("SELECT 1")
            return True
        except (StackError, subprocess.SubprocessError, OSError):
            return False


_PASSWORD_LITERAL = re.compile(r"(?i)(PASSWORD\s+)'(?:[^']|'')*'?")


def _redacted(message: str) -> str:
    """The message with every PASSWORD '...' literal (even one cut short) shown as '***'."""
    return _PASSWORD_LITERAL.sub(r"\1'***'", message)


def psql_binary() -> Path:
    try:
        candidate = server_bindir() / "psql"
        if candidate.exists():
            return candidate
    except StackError:
        pass
    found = shutil.which("psql")
    if not found:
        raise StackError("psql not found: install the PostgreSQL client (Debian: apt-get install postgresql-client)")
    return Path(found)


def admin(stack: Stack) -> Admin:
    url = os.environ.get("TICKSTREAM_PG_ADMIN_URL")
    if stack.component(NAME).get("external") and url:
        return Admin.from_url(url)
    password_file = stack.home / "postgres" / "superuser.password"
    password = password_file.read_text().strip() if password_file.exists() else ""
    return Admin("127.0.0.1", stack.port("postgres"), "postgres", password)


# Where the private server's files go when the 'postgres' system user cannot reach the state dir (as root, a clone
# under /root): its data directory and log live here, linked from the state dir.
SERVER_FILES = Path("/var/lib/postgresql/tickstream")


def _data_dir(stack: Stack) -> Path:
    """<state>/postgres/data, or where that link points (the server and its tools are given the real path)."""
    return (stack.home / "postgres" / "data").resolve()


def _server_log(stack: Stack) -> Path:
    return stack.log(NAME).resolve()


def _server_user_reaches(directory: Path) -> bool:
    if os.geteuid() != 0:
        return True
    return subprocess.run(_as_server_user(["test", "-x", str(directory)]), capture_output=True).returncode == 0


def _place_server_files(stack: Stack) -> None:
    """As root, a state dir the 'postgres' user cannot reach gets its server files under SERVER_FILES (a directory
    per state dir), linked as <state>/postgres/data and <state>/logs/postgres.log; decided once, at initdb."""
    link = stack.home / "postgres" / "data"
    if link.exists() or link.is_symlink() or _server_user_reaches(stack.home):
        return
    place = SERVER_FILES / hashlib.sha256(str(stack.home).encode()).hexdigest()[:16]
    (place / "data").mkdir(parents=True, exist_ok=True)
    _chown_to_server_user(SERVER_FILES, place, place / "data")
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(place / "data")
    log = stack.log(NAME)
    log.unlink(missing_ok=True)
    log.symlink_to(place / "postgres.log")
    print(
        f"  postgres     the postgres system user cannot reach {stack.home}: the server's data and log go to {place}"
        f" (linked from the state dir)"
    )


def _postmaster_pid(stack: Stack) -> int | None:
    pidfile = _data_dir(stack) / "postmaster.pid"
    try:
        return int(pidfile.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def _private_running(stack: Stack) -> bool:
    return procs.owns(_postmaster_pid(stack), str(_data_dir(stack)))


def _timescaledb_installed(bindir: Path) -> bool:
    pg_config = bindir / "pg_config"
    if not pg_config.exists():
        return False
    libdir = subprocess.run([str(pg_config), "--pkglibdir"], capture_output=True, text=True).stdout.strip()
    return bool(libdir) and any(Path(libdir).glob("timescaledb*.so"))


def timescaledb_installed() -> bool:
    """Whether TimescaleDB is installed into the PostgreSQL a private instance runs (the benchmark's default)."""
    return _timescaledb_installed(server_bindir())


TIMESCALEDB_SWITCH = "TICKSTREAM_TIMESCALEDB"


def timescaledb_switch() -> str:
    """TICKSTREAM_TIMESCALEDB: auto (default), on or off; anything else stops `up` before it starts anything."""
    switch = os.environ.get(TIMESCALEDB_SWITCH, "auto").strip().lower() or "auto"
    if switch not in ("auto", "on", "off"):
        raise StackError(f"{TIMESCALEDB_SWITCH} must be auto, on or off, got {switch!r}")
    return switch


def timescaledb_preloaded(bindir: Path | None = None) -> bool:
    """Whether the private instance loads TimescaleDB: when it is installed into the server's library directory,
    unless TICKSTREAM_TIMESCALEDB=off (a plain instance, e.g. to run the tests as CI does); =on requires it."""
    switch = timescaledb_switch()
    if switch == "off":
        return False
    installed = _timescaledb_installed(bindir or server_bindir())
    if switch == "on" and not installed:
        raise StackError(
            f"{TIMESCALEDB_SWITCH}=on, but TimescaleDB is not installed into the PostgreSQL of "
            f"{bindir or server_bindir()} (README, Database schema: TimescaleDB); unset it to run on "
            f"plain PostgreSQL"
        )
    return installed


# TimescaleDB runs a scheduler per database that uses it, and each job it starts, as background workers. They
# come out of its own pool (timescaledb.max_background_workers: at least one per database plus the jobs that may
# run at once) and out of PostgreSQL's max_worker_processes, which parallel queries and the launchers share and
# whose default (8) left jobs unstarted ("failed to start a background worker") once two databases used it.
TIMESCALEDB_BACKGROUND_WORKERS = 16
PARALLEL_WORKERS = 8  # PostgreSQL's default max_parallel_workers
OTHER_WORKERS = 3  # TimescaleDB's launcher, the logical replication launcher, one spare


def timescaledb_options() -> list[str]:
    return [
        "-c shared_preload_libraries=timescaledb",
        "-c timescaledb.telemetry_level=off",
        f"-c timescaledb.max_background_workers={TIMESCALEDB_BACKGROUND_WORKERS}",
        f"-c max_parallel_workers={PARALLEL_WORKERS}",
        f"-c max_worker_processes={TIMESCALEDB_BACKGROUND_WORKERS + PARALLEL_WORKERS + OTHER_WORKERS}",
    ]


def _start_private(stack: Stack) -> None:
    bindir = server_bindir()
    _place_server_files(stack)
    data = _data_dir(stack)
    port = stack.port("postgres")
    log = _server_log(stack)
    if _private_running(stack):
        print(f"  postgres     already running (pid {_postmaster_pid(stack)}) on 127.0.0.1:{port}")
        return
    procs.require_free_port(port, "postgres", or_else=", set TICKSTREAM_PG_ADMIN_URL to use it")
    password_file = stack.path("postgres", "superuser.password")
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        _chown_to_server_user(data)
        password = secrets.token_urlsafe(18)
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        pwfile = data.parent / ".initdb-pw"
        pwfile.write_text(password + "\n")
        _chown_to_server_user(pwfile)
        result = subprocess.run(
            _as_server_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--no-instructions",
                ]
            ),
            capture_output=True,
            text=True,
        )
        pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise StackError(f"initdb failed:\n{result.stdout}{result.stderr}")
    log.touch()
    _chown_to_server_user(log)
    options = [
        f"-c port={port}",
        "-c listen_addresses=127.0.0.1",
        "-c unix_socket_directories=''",
        "-c shared_buffers=256MB",
        "-c max_connections=200",
        # Ticks are ~300 bytes of WAL each: at 60,000/s the default 1 GB forced a checkpoint every 30 s, and each
        # one re-logs every page it touches next as a whole page.
        "-c max_wal_size=4GB",
    ]
    timescaledb = timescaledb_preloaded(bindir)
    if timescaledb:
        options += timescaledb_options()
    result = subprocess.run(
        _as_server_user(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "-o",
                " ".join(options),
                "start",
            ]
        ),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 or not _private_running(stack):
        raise StackError(f"PostgreSQL did not start:\n{result.stdout}{result.stderr}\nlog tail:\n{procs.log_tail(log)}")
    print(
        f"  postgres     started (pid {_postmaster_pid(stack)}) on 127.0.0.1:{port} (private instance in {data}, "
        f"{'with TimescaleDB' if timescaledb else 'plain PostgreSQL'})"
    )


def up(stack: Stack) -> None:
    url = os.environ.get("TICKSTREAM_PG_ADMIN_URL")
    if url and Admin.from_url(url).reachable():
        target = Admin.from_url(url)
        stack.record(NAME, external=True, host=target.host, port=target.port)
        print(f"  postgres     using the server at {target.host}:{target.port} (TICKSTREAM_PG_ADMIN_URL)")
    else:
        if url:
            print("  postgres     TICKSTREAM_PG_ADMIN_URL does not answer; starting a private instance instead")
        _start_private(stack)
        stack.record(
            NAME,
            external=False,
            pid=_postmaster_pid(stack),
            log=str(stack.log(NAME)),
            host="127.0.0.1",
            port=stack.port("postgres"),
        )
    apply_schema(stack)


def apply_schema(stack: Stack) -> None:
    """Creates the database, applies sql/ in order (every file is safe to re-apply), sets role passwords."""
    adm = admin(stack)
    if not adm.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'").strip():
        adm.psql(f'CREATE DATABASE "{DATABASE}"')
    extension, preloaded = (
        adm.psql(
            "SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'), '')"
            " || '|' || current_setting('shared_preload_libraries')",
            db=DATABASE,
        )
        .strip()
        .split("|", 1)
    )
    if extension and "timescaledb" not in preloaded:
        raise StackError(
            f"database {DATABASE} uses TimescaleDB {extension}, but the server does not load it "
            f"(shared_preload_libraries = '{preloaded}'): a database cannot go back to plain PostgreSQL, "
            f"so start the private instance with TimescaleDB ({TIMESCALEDB_SWITCH} unset: "
            f"`deploy/tickstream down --only postgres`, then `up`), or add timescaledb to "
            f"shared_preload_libraries of the server TICKSTREAM_PG_ADMIN_URL points at and restart it"
        )
    files = sorted((REPO / "sql").glob("*.sql"))
    for f in files:
        adm.psql("", db=DATABASE, file=f)
    extension = adm.psql("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'", db=DATABASE).strip()
    for role in ROLE_PASSWORD_ENV:
        password = role_password(role).replace("'", "''")
        adm.psql(
            f"ALTER ROLE {role} WITH LOGIN PASSWORD '{password}'",
            db=DATABASE,
            secret=os.environ.get(ROLE_PASSWORD_ENV[role], ""),
        )
    comp = stack.component(NAME)
    host, port = comp.get("host", "127.0.0.1"), comp.get("port", stack.port("postgres"))
    stack.set_endpoint("jdbc_url", f"jdbc:postgresql://{host}:{port}/{DATABASE}")
    stack.set_endpoint("postgres", {"host": host, "port": port, "database": DATABASE})
    flavour = f"TimescaleDB {extension}" if extension else "plain PostgreSQL: no hypertables, candles_1h is a view"
    print(f"  postgres     schema applied to database {DATABASE} ({len(files)} files from sql/; {flavour})")


def down(stack: Stack) -> None:
    comp = stack.component(NAME)
    if not comp.get("external") and _private_running(stack):
        pid = _postmaster_pid(stack)
        result = subprocess.run(
            _as_server_user(
                [str(server_bindir() / "pg_ctl"), "-D", str(_data_dir(stack)), "-m", "fast", "-w", "-t", "60", "stop"]
            ),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0 and pid:
            procs.stop(pid)
        print(f"  postgres     stopped (pid {pid})")
    stack.forget(NAME)


def status(stack: Stack) -> dict:
    comp = stack.component(NAME)
    if comp.get("external"):
        return {
            "component": NAME,
            "pid": None,
            "port": comp.get("port"),
            "state": "external" if admin(stack).reachable() else "unreachable",
            "log": None,
        }
    running = _private_running(stack)
    return {
        "component": NAME,
        "pid": _postmaster_pid(stack) if running else None,
        "port": stack.port("postgres"),
        "state": "running" if running else "stopped",
        "log": comp.get("log"),
    }
