"""sql/ on TimescaleDB, the production database, for real: hypertables and their chunk settings, the compression
job on old chunks and the job's late writes into compressed chunks, the retention job, candles_1h's refresh (late
candles of any retained hour, and a plain-PostgreSQL stack moved to TimescaleDB), sql/090_grants.sql re-applied
while a compression job runs, and background jobs of several databases all starting.

Every job is run with CALL run_job (what its schedule does, without waiting for it). Skipped, with the reason, where
the stack's PostgreSQL does not load TimescaleDB (CI has none; TICKSTREAM_TIMESCALEDB=off turns it off)."""

import json
import os
import subprocess
import sys
import uuid

import pytest
from conftest import REPO, StackCli, wait_for
from stack_fixtures import PSQL, Database, role_password, superuser
from test_sql_schema import SQL_FILES, bind, job_statements, tick_copy_statements

sys.path.insert(0, str(REPO / "deploy"))
from stack import postgres as stack_postgres
from stack.procs import StackError


def _why_not_timescaledb() -> str | None:
    try:
        if stack_postgres.timescaledb_preloaded():
            return None
    except StackError as e:
        return str(e)
    if os.environ.get(stack_postgres.TIMESCALEDB_SWITCH, "").strip().lower() == "off":
        return "TICKSTREAM_TIMESCALEDB=off: the stack's PostgreSQL is plain"
    return (
        "TimescaleDB is not installed into this machine's PostgreSQL (README: Database schema, TimescaleDB "
        "says how to get it); these tests need it"
    )


pytestmark = pytest.mark.skipif(_why_not_timescaledb() is not None, reason=_why_not_timescaledb() or "")

EXCHANGE = "tsdbtest"
SYMBOLS = ("BTC-USDT", "ETH-USDT", "SOL-USDT")
GRANTS = REPO / "sql" / "090_grants.sql"
MONITORING_GRANTS = REPO / "sql" / "095_monitoring_grants.sql"
OURS = "j.proc_name LIKE 'policy_%' AND j.hypertable_schema = 'public'"  # sql/'s policies, not TimescaleDB's own jobs


# ---- stacks and databases ---------------------------------------------------------------------------------------------


def _up(name: str, env: dict | None = None) -> StackCli:
    stack = StackCli(REPO / "deploy" / "target" / f"{name}-{uuid.uuid4().hex[:8]}")
    stack.run("up", "--free-ports", "--only", "postgres", env=env)
    return stack


@pytest.fixture(scope="module")
def tsdb():
    """A private PostgreSQL with TimescaleDB preloaded; each test takes databases of its own in it."""
    stack = _up("tsdb")
    try:
        yield stack
    finally:
        down = stack.run("down", check=False)
        assert down.returncode == 0, down.stdout + down.stderr


def database(stack: StackCli, name: str) -> Database:
    """A new database with sql/ applied twice, as the superuser."""
    admin = superuser(stack)
    admin.run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.run(f"CREATE DATABASE {name}")
    db = admin.as_role(admin.user, admin.password, name)
    for _ in range(2):
        for f in SQL_FILES:
            db.run(file=f)
    quiet(db)
    return db


def quiet(db: Database) -> None:
    """sql/'s policies unscheduled once the runs their creation started are over, so that each test runs them
    itself (CALL run_job) and no background run overlaps (two refreshes of one window refuse each other)."""
    db.run(f"SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs j WHERE {OURS}")
    wait_for(
        "the policies' first runs to end",
        lambda: (
            db.value(
                "SELECT count(*) FROM timescaledb_information.job_stats s JOIN timescaledb_information.jobs j USING (job_id)"
                f" WHERE {OURS} AND s.job_status = 'Running'"
            )
            == "0"
        ),
        timeout=120,
        interval=0.2,
    )


@pytest.fixture
def new_database(tsdb):
    """database() in the module's stack, dropped after the test (each one's TimescaleDB scheduler holds a worker)."""
    made = []

    def make(name: str) -> Database:
        made.append(name)
        return database(tsdb, name)

    yield make
    for name in made:
        superuser(tsdb).run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def job(db: Database) -> Database:
    return db.as_role("tickstream", role_password("tickstream"))


def grafana(db: Database) -> Database:
    return db.as_role("grafana", role_password("grafana"))


def job_id(db: Database, proc: str, relation: str) -> int:
    """The policy job of a hypertable or of candles_1h."""
    return int(
        db.value(
            f"SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_{proc}'"
            f" AND hypertable_name = '{relation}'"
        )
    )


def run_job(db: Database, proc: str, relation: str) -> subprocess.CompletedProcess:
    result = db.run(f"CALL run_job({job_id(db, proc, relation)})")
    assert "WARNING" not in result.stderr, result.stderr
    return result


# ---- data -------------------------------------------------------------------------------------------------------------


def insert_ticks(db: Database, days_back: float, days_to: float = 0, every: str = "5 minutes") -> int:
    """Ticks of SYMBOLS from days_back to days_to days ago (trade ids unique per instrument)."""
    return int(
        db.value(
            "WITH t AS (INSERT INTO ticks (time, exchange, symbol, trade_id, price, size, side, recv_time)"
            f" SELECT g, '{EXCHANGE}', s, extract(epoch FROM g)::bigint::text, 100 + (extract(epoch FROM g)::bigint % 97),"
            " 0.5, 'buy', g + INTERVAL '50 ms'"
            f" FROM generate_series(date_trunc('hour', now()) - INTERVAL '{days_back} days',"
            f" date_trunc('hour', now()) - INTERVAL '{days_to} days', INTERVAL '{every}') g,"
            f" unnest(ARRAY{list(SYMBOLS)}) s ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM t"
        )
    )


def insert_candles(db: Database, days_back: float, days_to: float = 0) -> None:
    """One candle per instrument-minute, prices varying by minute so hourly open/close/high/low are distinct."""
    db.run(
        "INSERT INTO candles_1m (bucket, exchange, symbol, open, high, low, close, volume, trades)"
        f" SELECT g, '{EXCHANGE}', s, p, p + 3, p - 2, p + 1, 1.25, 4"
        f" FROM generate_series(date_trunc('minute', now()) - INTERVAL '{days_back} days',"
        f" date_trunc('minute', now()) - INTERVAL '{days_to} days', INTERVAL '1 minute') g,"
        f" unnest(ARRAY{list(SYMBOLS)}) s, LATERAL (SELECT 100 + (extract(epoch FROM g)::bigint / 60) % 89 AS p) x"
        " ON CONFLICT (exchange, symbol, bucket) DO NOTHING"
    )


# The hourly candles of candles_1m computed straight from it, as the plain-PostgreSQL view does.
HOURLY_FROM_MINUTES = (
    "SELECT date_trunc('hour', bucket, 'UTC') AS bucket, exchange, symbol, (array_agg(open ORDER BY bucket))[1] AS open,"
    " max(high) AS high, min(low) AS low, (array_agg(close ORDER BY bucket DESC))[1] AS close, sum(volume) AS volume,"
    " sum(trades) AS trades FROM candles_1m WHERE exchange = '{exchange}'"
    " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
)
HOURLY = (
    "SELECT bucket, exchange, symbol, open, high, low, close, volume, trades FROM candles_1h"
    " WHERE exchange = '{exchange}' ORDER BY 1, 2, 3"
)


def hourly(db: Database, exchange: str = EXCHANGE) -> tuple[list[dict], list[dict]]:
    """(candles_1h, the same hours computed from candles_1m) with numbers normalised."""

    def norm(rows):
        return [
            {k: (str(float(v)) if k in ("open", "high", "low", "close", "volume") else v) for k, v in r.items()}
            for r in rows
        ]

    return norm(db.rows(HOURLY.format(exchange=exchange))), norm(db.rows(HOURLY_FROM_MINUTES.format(exchange=exchange)))


def materialized_hours(db: Database, exchange: str = EXCHANGE) -> int:
    """Rows of candles_1h's materialization hypertable itself (what a refresh wrote; real-time rows excluded)."""
    table = db.value(
        "SELECT format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name)"
        " FROM timescaledb_information.continuous_aggregates WHERE view_name = 'candles_1h'"
    )
    column = db.value(
        f"SELECT attname FROM pg_attribute WHERE attrelid = '{table}'::regclass AND attnum > 0"
        " AND NOT attisdropped AND atttypid = 'text'::regtype ORDER BY attnum LIMIT 1"
    )
    return int(db.value(f"SELECT count(*) FROM {table} WHERE {column} = '{exchange}'"))


def complete_hours(db: Database, exchange: str = EXCHANGE) -> int:
    """Instrument-hours of candles_1m below candles_1h's watermark (where materialized rows end and real-time
    aggregation begins), which must be no more than an hour and a bit behind (with candles up to now: the refresh
    goes up to 1 hour back)."""
    watermark = (
        "(SELECT _timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(mat_hypertable_id))"
        " FROM _timescaledb_catalog.continuous_agg WHERE user_view_name = 'candles_1h')"
    )
    assert db.value(f"SELECT {watermark} >= date_trunc('hour', now() - INTERVAL '1 hour') - INTERVAL '1 hour'") == "t"
    return int(
        db.value(
            "SELECT count(DISTINCT (symbol, date_trunc('hour', bucket, 'UTC'))) FROM candles_1m"
            f" WHERE exchange = '{exchange}' AND bucket < {watermark}"
        )
    )


# ---- hypertables and their chunk settings ------------------------------------------------------------------------------


def test_tables_are_hypertables_with_the_documented_chunks_compression_and_policies(new_database):
    db = new_database("tsdb_hypertables")
    assert {
        r["hypertable_name"]: r["compression_enabled"]
        for r in db.rows(
            "SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables"
            " WHERE hypertable_schema = 'public'"
        )
    } == {"ticks": "t", "candles_1m": "t", "anomalies": "t"}
    assert {
        r["hypertable_name"]: (r["column_name"], r["time_interval"])
        for r in db.rows(
            "SELECT hypertable_name, column_name, time_interval FROM timescaledb_information.dimensions"
            " WHERE hypertable_schema = 'public'"
        )
    } == {"ticks": ("time", "06:00:00"), "candles_1m": ("bucket", "7 days"), "anomalies": ("time", "30 days")}
    assert {
        r["hypertable"]: (r["segmentby"], r["orderby"])
        for r in db.rows(
            "SELECT hypertable::text, segmentby, orderby FROM timescaledb_information.hypertable_compression_settings"
            " WHERE hypertable::text NOT LIKE '\\_timescaledb%'"
        )
    } == {
        "ticks": ("exchange,symbol", '"time" DESC,trade_id'),
        "candles_1m": ("exchange,symbol", "bucket DESC"),
        "anomalies": ("exchange,symbol", '"time" DESC,id'),
    }
    assert policies(db) == {
        ("compression", "ticks"): "7 days",
        ("compression", "candles_1m"): "7 days",
        ("compression", "anomalies"): "30 days",
        ("retention", "ticks"): "90 days",
        ("retention", "candles_1m"): "730 days",
        ("retention", "anomalies"): "365 days",
        ("refresh_continuous_aggregate", "candles_1h"): "730 days..01:00:00",
    }
    insert_ticks(db, days_back=2)
    assert {
        r["span"]
        for r in db.rows(
            "SELECT range_end - range_start AS span FROM timescaledb_information.chunks WHERE hypertable_name = 'ticks'"
        )
    } == {"06:00:00"}

    # Settings are read on every apply: changed ones apply (new chunks, replaced policies), 'off' drops a policy.
    options = (
        "-c tickstream.ticks_chunk_interval=2h -c tickstream.ticks_retention=off"
        " -c tickstream.ticks_compress_after=3days -c tickstream.candles_retention=400days"
    )
    for f in SQL_FILES:
        db.run(file=f, options=options)
    db.run(
        f"INSERT INTO ticks (time, exchange, symbol, trade_id, price, size, side, recv_time)"
        f" VALUES (now() + INTERVAL '3 days', '{EXCHANGE}', 'BTC-USDT', 'future', 1, 1, 'buy', now())"
    )
    assert (
        db.value(
            "SELECT range_end - range_start FROM timescaledb_information.chunks WHERE hypertable_name = 'ticks'"
            " ORDER BY range_start DESC LIMIT 1"
        )
        == "02:00:00"
    )
    changed = policies(db)
    assert ("retention", "ticks") not in changed
    assert changed[("compression", "ticks")] == "3 days"
    assert changed[("refresh_continuous_aggregate", "candles_1h")] == "400 days..01:00:00"
    # Compression inside the late-data horizon is refused, with the reason.
    refused = db.run(
        file=REPO / "sql" / "030_timescale.sql", options="-c tickstream.ticks_compress_after=2h", check=False
    )
    assert refused.returncode != 0 and "inside the late-data horizon" in refused.stderr


def policies(db: Database) -> dict:
    """(kind, table) -> compress_after, drop_after or the refresh window of each policy."""
    out = {}
    for r in db.rows(
        "SELECT proc_name, hypertable_name, config FROM timescaledb_information.jobs"
        " WHERE proc_name LIKE 'policy_%' AND hypertable_schema = 'public'"
    ):
        config = json.loads(r["config"])
        out[(r["proc_name"].removeprefix("policy_"), r["hypertable_name"])] = (
            config.get("compress_after")
            or config.get("drop_after")
            or f"{config.get('start_offset')}..{config.get('end_offset')}"
        )
    return out


# ---- compression, late writes, retention ------------------------------------------------------------------------------


def copy_ticks(db: Database, rows: list[tuple], tmp_path) -> subprocess.CompletedProcess:
    """The tick sink's COPY (its own statement, but for the format: the job streams binary rows, psql sends text) of
    rows, as the job's role."""
    script = tmp_path / f"copy-{uuid.uuid4().hex[:6]}.sql"
    data = "\n".join("\t".join(map(str, r)) for r in rows)
    statement = tick_copy_statements()["COPY_TICKS"].removesuffix(" (FORMAT binary)")
    script.write_text(f"{statement};\n{data}\n\\.\n")
    return job(db).run(file=script, check=False)


def stage_ticks(db: Database, rows: list[tuple]) -> None:
    """The tick sink's replay path (its own statements): a session staging table, INSERT ... ON CONFLICT DO NOTHING."""
    ticks = tick_copy_statements()
    values = ", ".join("(" + ", ".join(f"'{v}'" for v in r) + ")" for r in rows)
    job(db).run(
        f"BEGIN; {ticks['CREATE_STAGING']}; INSERT INTO tick_rows"
        f" (time, exchange, symbol, trade_id, price, size, side, recv_time) VALUES {values};"
        f" {ticks['INSERT_FROM_STAGING']}; COMMIT"
    )


def chunk_states(db: Database, table: str) -> dict[str, int]:
    rows = db.rows(
        f"SELECT range_end < now() - {COMPRESS_AFTER[table]} AS old, is_compressed"
        f" FROM timescaledb_information.chunks WHERE hypertable_name = '{table}'"
    )
    states = {}
    for r in rows:
        key = ("old" if r["old"] == "t" else "young") + ("_compressed" if r["is_compressed"] == "t" else "_plain")
        states[key] = states.get(key, 0) + 1
    return states


COMPRESS_AFTER = {"ticks": "INTERVAL '7 days'", "candles_1m": "INTERVAL '7 days'", "anomalies": "INTERVAL '30 days'"}


def test_compression_job_compresses_old_chunks_and_the_jobs_late_writes_land_in_them_once(new_database, tmp_path):
    db = new_database("tsdb_compression")
    ticks = insert_ticks(db, days_back=12)
    insert_candles(db, days_back=20, days_to=0)
    run_job(db, "compression", "ticks")
    run_job(db, "compression", "candles_1m")
    states = chunk_states(db, "ticks")
    # Every chunk wholly older than 7 days compressed, every younger one left plain (live writes never reach one).
    assert states.get("old_compressed", 0) >= 15 and "old_plain" not in states and "young_compressed" not in states
    assert "old_plain" not in chunk_states(db, "candles_1m") and chunk_states(db, "candles_1m").get("old_compressed")
    before, after = db.value(
        "SELECT before_compression_total_bytes || ',' || after_compression_total_bytes"
        " FROM hypertable_compression_stats('ticks')"
    ).split(",")
    assert int(after) < int(before)
    assert int(db.value(f"SELECT count(*) FROM ticks WHERE exchange = '{EXCHANGE}'")) == ticks

    # A replay reaching a compressed chunk, through the job's own statements as the job's role.
    old = db.rows(
        f"SELECT time, exchange, symbol, trade_id, price, size, side, recv_time FROM ticks"
        f" WHERE exchange = '{EXCHANGE}' AND time < now() - INTERVAL '10 days' ORDER BY time LIMIT 2"
    )
    duplicate = tuple(old[0].values())
    late = (
        db.value("SELECT (%s)::timestamptz + INTERVAL '1 second'" % f"'{old[1]['time']}'"),
        EXCHANGE,
        "BTC-USDT",
        "late-1",
        "101.5",
        "0.25",
        "sell",
        old[1]["recv_time"],
    )
    # The fast path: COPY of a batch holding a row already there fails on the unique key, compressed or not (the
    # sink then takes the replay path), and stores nothing.
    refused = copy_ticks(db, [late, duplicate], tmp_path)
    assert refused.returncode != 0 and "duplicate key" in refused.stderr, refused.stderr
    assert db.value(f"SELECT count(*) FROM ticks WHERE exchange = '{EXCHANGE}' AND trade_id = 'late-1'") == "0"
    for _ in range(2):  # the replay path, twice: idempotent
        stage_ticks(db, [late, duplicate])
    assert int(db.value(f"SELECT count(*) FROM ticks WHERE exchange = '{EXCHANGE}'")) == ticks + 1
    # Candles (upsert) and anomalies (do nothing on conflict) land in compressed chunks the same way.
    statements = job_statements()
    minute = db.value(
        f"SELECT bucket FROM candles_1m WHERE exchange = '{EXCHANGE}' AND symbol = 'ETH-USDT' ORDER BY bucket LIMIT 1"
    )
    candle = {
        "bucket": minute,
        "exchange": EXCHANGE,
        "symbol": "ETH-USDT",
        "open": "1",
        "high": "999",
        "low": "0.5",
        "close": "2",
        "volume": "7.5",
        "trades": "9",
    }
    bind(job(db), statements["UPSERT_CANDLE"], candle)
    assert db.rows(
        f"SELECT high, volume, trades FROM candles_1m WHERE exchange = '{EXCHANGE}' AND symbol = 'ETH-USDT'"
        f" AND bucket = '{minute}'"
    ) == [{"high": "999", "volume": "7.5", "trades": "9"}]
    # The compression job compresses what the late writes decompressed again; nothing is lost or doubled.
    run_job(db, "compression", "ticks")
    run_job(db, "compression", "candles_1m")
    assert "old_plain" not in chunk_states(db, "ticks")
    assert int(db.value(f"SELECT count(*) FROM ticks WHERE exchange = '{EXCHANGE}'")) == ticks + 1
    assert (
        db.value(
            f"SELECT count(*) FROM ticks WHERE exchange = '{EXCHANGE}' AND trade_id = '{duplicate[3]}'"
            f" AND symbol = '{duplicate[2]}'"
        )
        == "1"
    )


def test_anomalies_compress_after_30_days_and_a_replayed_alert_is_stored_once(new_database):
    db = new_database("tsdb_anomalies")
    db.run(
        "INSERT INTO anomalies (time, id, exchange, symbol, type, price, detected_at)"
        f" SELECT g, 'old-' || extract(epoch FROM g)::bigint, '{EXCHANGE}', 'BTC-USDT', 'PRICE_SPIKE', 100, g"
        " FROM generate_series(now() - INTERVAL '100 days', now(), INTERVAL '6 hours') g"
    )
    run_job(db, "compression", "anomalies")
    assert chunk_states(db, "anomalies").get("old_compressed", 0) >= 2 and "old_plain" not in chunk_states(
        db, "anomalies"
    )
    old = db.rows("SELECT time, id FROM anomalies WHERE time < now() - INTERVAL '80 days' ORDER BY time LIMIT 1")[0]
    values = {
        "time": old["time"],
        "id": old["id"],
        "exchange": EXCHANGE,
        "symbol": "BTC-USDT",
        "type": "PRICE_SPIKE",
        "price": "100",
        "ref_price": None,
        "change_pct": None,
        "zscore": None,
        "window_ms": None,
        "trade_id": None,
        "detected_at": old["time"],
        "details": None,
        "incident_id": old["id"],
    }
    before = db.value("SELECT count(*) FROM anomalies")
    bind(job(db), job_statements()["INSERT_ANOMALY"], values)  # the same alert again (a replay)
    bind(job(db), job_statements()["INSERT_ANOMALY"], dict(values, id="new-in-old-chunk"))
    assert int(db.value("SELECT count(*) FROM anomalies")) == int(before) + 1


def test_retention_job_drops_only_chunks_past_retention_and_candles_1h_keeps_its_hours(new_database):
    db = new_database("tsdb_retention")
    insert_ticks(db, days_back=100, days_to=80, every="1 hour")
    insert_candles(db, days_back=745, days_to=735)
    db.run("CALL refresh_continuous_aggregate('candles_1h', NULL, now() - INTERVAL '1 hour')")
    hours_before = materialized_hours(db)
    assert (
        hours_before
        == int(
            db.value(
                "SELECT count(DISTINCT (symbol, date_trunc('hour', bucket, 'UTC')))"
                f" FROM candles_1m WHERE exchange = '{EXCHANGE}'"
            )
        )
        > 0
    )  # all long past
    run_job(db, "retention", "ticks")
    run_job(db, "retention", "candles_1m")
    # Chunks wholly older than 90 days are gone; the ones holding younger rows stay (whole chunks are dropped).
    assert db.value("SELECT min(time) > now() - INTERVAL '90 days' - INTERVAL '6 hours' FROM ticks") == "t"
    assert db.value("SELECT max(time) FROM ticks") is not None
    assert db.value("SELECT count(*) FROM candles_1m WHERE bucket < now() - INTERVAL '737 days'") == "0"
    # candles_1h keeps the hours whose minutes retention dropped: the refresh policy's window stops at the
    # retention horizon, and an apply does not re-materialize history candles_1m no longer holds.
    run_job(db, "refresh_continuous_aggregate", "candles_1h")
    for f in SQL_FILES:
        db.run(file=f)
    assert materialized_hours(db) == hours_before


# ---- candles_1h: refresh, late candles, migration from plain PostgreSQL ---------------------------------------------


def test_refresh_policy_materializes_complete_hours_and_reads_see_the_current_one(new_database):
    db = new_database("tsdb_refresh")
    insert_candles(db, days_back=2)
    run_job(db, "refresh_continuous_aggregate", "candles_1h")
    assert materialized_hours(db) == complete_hours(db) > 40
    view, minutes = hourly(db)
    assert view == minutes  # the current hour too (real-time aggregation), as the plain view shows it


def test_late_candles_of_any_retained_hour_reach_candles_1h_at_the_next_refresh(new_database):
    db = new_database("tsdb_late_candles")
    insert_candles(db, days_back=12)
    db.run("CALL refresh_continuous_aggregate('candles_1h', NULL, now() - INTERVAL '1 hour')")
    assert materialized_hours(db) == complete_hours(db)
    # A replay rewrites candles 4 to 11 days back (older than a few days' refresh window) and adds a new
    # instrument's there, through the job's own upsert as the job's role.
    upsert = job_statements()["UPSERT_CANDLE"]
    late = db.rows(
        f"SELECT bucket FROM candles_1m WHERE exchange = '{EXCHANGE}' AND symbol = 'SOL-USDT'"
        " AND bucket < now() - INTERVAL '4 days' AND extract(minute FROM bucket) IN (0, 30, 59)"
        " ORDER BY bucket DESC LIMIT 40"
    )
    for i, r in enumerate(late):
        bind(
            job(db),
            upsert,
            {
                "bucket": r["bucket"],
                "exchange": EXCHANGE,
                "symbol": "SOL-USDT",
                "open": str(500 + i),
                "high": "9999",
                "low": "0.01",
                "close": str(600 + i),
                "volume": "1000",
                "trades": "77",
            },
        )
        bind(
            job(db),
            upsert,
            {
                "bucket": r["bucket"],
                "exchange": EXCHANGE,
                "symbol": "NEW-USDT",
                "open": "5",
                "high": "6",
                "low": "4",
                "close": "5.5",
                "volume": "2",
                "trades": "1",
            },
        )
    stale, minutes = hourly(db)
    assert stale != minutes  # not yet: those hours are materialized and below the refresh window's end
    run_job(db, "refresh_continuous_aggregate", "candles_1h")
    view, minutes = hourly(db)
    assert view == minutes
    assert materialized_hours(db) == complete_hours(db)


def test_a_plain_postgresql_stack_moved_to_timescaledb_keeps_its_data_and_candles_1h_all_its_history():
    stack = _up("tsdb-migration", env={stack_postgres.TIMESCALEDB_SWITCH: "off"})
    try:
        admin = superuser(stack)
        assert admin.value("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'") == "0"
        assert admin.value("SELECT relkind FROM pg_class WHERE relname = 'candles_1h'") == "v"
        ticks = insert_ticks(admin, days_back=20, every="30 minutes")
        insert_candles(admin, days_back=20)
        admin.run(
            "INSERT INTO anomalies (time, id, exchange, symbol, type, price, detected_at)"
            f" SELECT g, 'a-' || extract(epoch FROM g)::bigint, '{EXCHANGE}', 'ETH-USDT', 'PRICE_DROP', 99, g"
            " FROM generate_series(now() - INTERVAL '20 days', now(), INTERVAL '1 day') g"
        )
        plain_view, _ = hourly(admin)
        stack.run("down")

        # TimescaleDB installed (here: already), `up` again: the instance preloads it and sql/ moves the data.
        moved = stack.run("up", "--free-ports", "--only", "postgres")
        assert "with TimescaleDB" in moved.stdout, moved.stdout
        quiet(admin)
        assert admin.value("SELECT count(*) FROM timescaledb_information.hypertables") == "3"
        assert int(admin.value(f"SELECT count(*) FROM ticks WHERE exchange = '{EXCHANGE}'")) == ticks
        assert admin.value("SELECT count(*) FROM ONLY ticks") == "0"  # every row moved into chunks
        assert admin.value("SELECT count(*) FROM anomalies") == "21"
        # candles_1h: a continuous aggregate with all 20 days materialized at once, not only the refresh window.
        assert (
            admin.value(
                "SELECT count(*) FROM timescaledb_information.continuous_aggregates WHERE view_name = 'candles_1h'"
            )
            == "1"
        )
        assert materialized_hours(admin) == complete_hours(admin) > 20 * 24 * len(SYMBOLS) - 10
        view, _ = hourly(admin)
        assert view == plain_view
        # The refresh policy's runs keep it whole; another `up` changes nothing.
        run_job(admin, "refresh_continuous_aggregate", "candles_1h")
        stack.run("up", "--free-ports", "--only", "postgres")
        view, minutes = hourly(admin)
        assert view == minutes and len(view) >= len(plain_view)
        # The job's and Grafana's privileges came along (the tables are new hypertables, candles_1h a new view).
        job(admin).run(
            f"UPDATE candles_1m SET trades = trades WHERE exchange = '{EXCHANGE}' AND symbol = 'BTC-USDT'"
            " AND bucket < now() - INTERVAL '19 days'"
        )
        grafana(admin).run("SELECT count(*) FROM candles_1h")
        # There is no way back: a plain instance refuses the database, saying why and what to do.
        stack.run("down")
        back = stack.run(
            "up", "--free-ports", "--only", "postgres", env={stack_postgres.TIMESCALEDB_SWITCH: "off"}, check=False
        )
        assert back.returncode == 1 and "cannot go back to plain PostgreSQL" in back.stderr, back.stdout + back.stderr
    finally:
        down = stack.run("down", check=False)
        assert down.returncode == 0, down.stdout + down.stderr


# ---- defect: grants re-applied while a compression job runs -------------------------------------------------------------

APPLIES_WHILE_COMPRESSING = 40


def test_grants_reapply_safely_while_a_compression_job_runs(new_database):
    """sql/090_grants.sql and sql/095_monitoring_grants.sql (every `up` applies both) re-applied over and over while
    the compression job converts chunks (the first run) and recompresses the chunks late ticks reached (the next
    runs), until they have been applied 40 times during a run. A GRANT or REVOKE on a hypertable rewrites every
    chunk's catalog row, as the job does: CI saw `up` fail with "tuple concurrently updated" on 095 once."""
    db = new_database("tsdb_grants")
    insert_ticks(db, days_back=80, every="20 minutes")  # 320 chunks of 6 hours, ~290 of them to compress
    compress = [
        PSQL,
        "-X",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        db.host,
        "-p",
        str(db.port),
        "-U",
        db.user,
        "-d",
        db.database,
        "-c",
        f"CALL run_job({job_id(db, 'compression', 'ticks')})",
    ]
    applies, changed, failures, runs = 0, 0, [], []
    while applies < APPLIES_WHILE_COMPRESSING and len(runs) < 20:
        if runs:  # late ticks in every old chunk: the next run has every chunk to recompress
            db.run(
                "INSERT INTO ticks (time, exchange, symbol, trade_id, price, size, side, recv_time)"
                f" SELECT c.range_start + INTERVAL '1 second', '{EXCHANGE}', 'BTC-USDT', 'late-{len(runs)}', 1, 1,"
                " 'buy', now() FROM timescaledb_information.chunks c WHERE c.hypertable_name = 'ticks'"
                " AND c.is_compressed"
            )
        job = subprocess.Popen(
            compress,
            env=dict(os.environ, PGPASSWORD=db.password),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            while job.poll() is None:
                if applies % 2:
                    # Every other time a privilege differs first, so each file has a GRANT or a REVOKE to make on
                    # the hypertable (changed under the lock the files take, as 090_grants.sql asks).
                    db.run(
                        "BEGIN; LOCK TABLE ticks IN ROW SHARE MODE; REVOKE SELECT ON ticks FROM grafana;"
                        " GRANT SELECT ON ticks TO postgres_exporter; COMMIT"
                    )
                    changed += 1
                for grants in (GRANTS, MONITORING_GRANTS):
                    result = db.run(file=grants, check=False)
                    if result.returncode != 0:
                        failures.append(f"{grants.name}: {result.stderr.strip()}")
                applies += 1
        finally:
            runs.append(job.communicate(timeout=600) + (job.returncode,))
    print(
        f"090_grants.sql and 095_monitoring_grants.sql applied {applies} times ({changed} with a GRANT to make) during {len(runs)} runs of the"
        " compression job"
    )
    assert not failures, f"{len(failures)} of {applies} applies failed:\n" + "\n".join(failures[:5])
    for _out, err, code in runs:
        assert code == 0 and "WARNING" not in err, err
    assert applies >= APPLIES_WHILE_COMPRESSING
    assert "old_plain" not in chunk_states(db, "ticks")
    assert (
        db.value(
            "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'ticks'"
            " AND range_end < now() - INTERVAL '7 days' AND NOT is_compressed"
        )
        == "0"
    )
    grafana(db).run("SELECT count(*) FROM ticks")
    assert db.value("SELECT has_table_privilege('postgres_exporter', 'ticks', 'SELECT')") == "f"


def test_reapplying_grants_with_nothing_to_change_changes_no_catalog_row(new_database):
    db = new_database("tsdb_grants_idle")
    insert_ticks(db, days_back=3)
    acl = (
        "SELECT string_agg(c.relname || ':' || xmin::text || ':' || coalesce(relacl::text, ''), ',' ORDER BY oid)"
        " FROM pg_class c WHERE relname IN ('ticks', 'candles_1m', 'anomalies', 'candles_1h')"
        " OR relnamespace = '_timescaledb_internal'::regnamespace"
    )
    others = (  # the rows 095_monitoring_grants.sql may change besides tables'
        "SELECT (SELECT xmin::text FROM pg_database WHERE datname = current_database())"
        " || ':' || (SELECT xmin::text FROM pg_namespace WHERE nspname = 'public')"
        " || ':' || (SELECT string_agg(xmin::text, ',') FROM pg_auth_members"
        " WHERE member = 'postgres_exporter'::regrole)"
    )
    before, others_before = db.value(acl), db.value(others)
    for grants in (GRANTS, MONITORING_GRANTS):
        result = db.run(file=grants)
        assert "privileges:" not in result.stderr and "NOTICE" not in result.stderr, result.stderr
    assert db.value(acl) == before and db.value(others) == others_before
    db.run("REVOKE UPDATE ON candles_1m FROM tickstream")
    result = db.run(file=GRANTS)
    assert "GRANT UPDATE ON TABLE candles_1m TO tickstream" in result.stderr
    assert db.value("SELECT has_table_privilege('tickstream', 'candles_1m', 'UPDATE')") == "t"
    db.run(
        "GRANT SELECT ON candles_1h, anomalies TO postgres_exporter; GRANT CREATE ON SCHEMA public TO"
        f" postgres_exporter; GRANT CREATE ON DATABASE {db.database} TO postgres_exporter;"
        " REVOKE pg_monitor FROM postgres_exporter"
    )
    result = db.run(file=MONITORING_GRANTS)
    for statement in (
        "REVOKE ALL ON TABLE public.anomalies, public.candles_1h FROM postgres_exporter",
        "REVOKE CREATE ON SCHEMA public FROM postgres_exporter",
        f"REVOKE CREATE ON DATABASE {db.database} FROM postgres_exporter",
        "GRANT pg_monitor TO postgres_exporter",
    ):
        assert statement in result.stderr, result.stderr
    assert (
        db.value(
            "SELECT has_table_privilege('postgres_exporter', 'candles_1h', 'SELECT')::text"
            " || has_schema_privilege('postgres_exporter', 'public', 'CREATE')::text"
            " || has_database_privilege('postgres_exporter', current_database(), 'CREATE')::text"
            " || pg_has_role('postgres_exporter', 'pg_monitor', 'MEMBER')::text"
        )
        == "falsefalsefalsetrue"
    )


# ---- defect: background jobs of several databases -------------------------------------------------------------------


def test_background_jobs_of_several_databases_all_start(tsdb, new_database):
    databases = [new_database(f"tsdb_workers_{i}") for i in range(4)]
    for db in databases:
        insert_ticks(db, days_back=10, every="1 hour")
        insert_candles(db, days_back=1)
    log = tsdb.home / "logs" / "postgres.log"
    offset = log.stat().st_size
    mark = databases[0].value("SELECT now()")
    for db in databases:
        db.run(
            "SELECT alter_job(job_id, scheduled => true, next_start => now()) FROM timescaledb_information.jobs j"
            f" WHERE {OURS}"
        )

    def all_ran() -> bool:
        return all(
            db.value(
                "SELECT count(*) FILTER (WHERE last_run_started_at >= '%s' AND last_run_status = 'Success')"
                " = count(*) FROM timescaledb_information.job_stats s JOIN timescaledb_information.jobs j"
                " USING (job_id) WHERE %s" % (mark, OURS)
            )
            == "t"
            for db in databases
        )

    wait_for("every policy job of every database to run", all_ran, timeout=180, interval=1)
    tail = log.read_text(errors="replace")[offset:]
    assert "failed to start a background worker" not in tail, tail[-3000:]
    for db in databases:
        assert (
            db.value(
                "SELECT sum(total_failures) FROM timescaledb_information.job_stats s"
                f" JOIN timescaledb_information.jobs j USING (job_id) WHERE {OURS}"
            )
            == "0"
        )
