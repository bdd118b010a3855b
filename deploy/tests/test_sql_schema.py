"""sql/ on the stack's PostgreSQL, plain or with TimescaleDB (whichever the private instance runs): applies to a
fresh database and re-applies without error, keeps the unique keys of docs/contracts.md, takes the job's own statements from
the job's role and refuses it any DDL, lets Grafana only read, and candles_1h gives hourly candles of candles_1m.
The TimescaleDB statements are also checked statically against the TimescaleDB 2.x API, so a plain-PostgreSQL run
(CI) still catches a misspelt argument."""

import re
import sys
from pathlib import Path

import pytest
from conftest import REPO
from stack_fixtures import Database, postgres_stack, role_password, superuser  # noqa: F401 (fixture)

SQL_FILES = sorted((REPO / "sql").glob("*.sql"))
TEST_DB = "tickstream_schema_test"


@pytest.fixture(scope="module")
def fresh(postgres_stack):
    """A database of its own, with sql/ applied twice as deploy/tickstream applies it (psql, ON_ERROR_STOP)."""
    admin = superuser(postgres_stack)
    admin.run(f"DROP DATABASE IF EXISTS {TEST_DB}")
    admin.run(f"CREATE DATABASE {TEST_DB}")
    db = admin.as_role(admin.user, admin.password, TEST_DB)
    outputs = [db.run(file=f).stdout for _ in range(2) for f in SQL_FILES]
    return db, outputs


def timescaledb(db: Database) -> bool:
    """Whether sql/ took its TimescaleDB branch in this database."""
    return db.value("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'") == "1"


def drop_candles_1h(db: Database) -> str:
    """The statement that drops candles_1h: TimescaleDB refuses DROP VIEW on a continuous aggregate whoever asks."""
    return "DROP MATERIALIZED VIEW candles_1h" if timescaledb(db) else "DROP VIEW candles_1h"


def job(db: Database) -> Database:
    return db.as_role("tickstream", role_password("tickstream"))


def grafana(db: Database) -> Database:
    return db.as_role("grafana", role_password("grafana"))


def denied(db: Database, sql: str) -> str:
    result = db.run(sql, check=False)
    assert result.returncode != 0, f"{db.user} was allowed: {sql}"
    assert re.search(r"permission denied|must be owner", result.stderr), result.stderr
    return result.stderr


def test_applies_twice_and_reapplies_on_the_stack_database(postgres_stack, fresh):
    db, outputs = fresh
    said_plain = any("TimescaleDB is not installed" in o for o in outputs)
    if timescaledb(db):
        assert not said_plain, "the TimescaleDB branch also said TimescaleDB is not installed"
    else:
        assert said_plain, "the plain-PostgreSQL branch did not say so"
    admin = superuser(postgres_stack)  # the stack's database: `up` applied it once already
    for f in SQL_FILES:
        admin.run(file=f)
    tables = {
        r["relname"]: r["relkind"]
        for r in db.rows(
            "SELECT relname, relkind FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'v', 'm')"
        )
    }
    assert tables == {"ticks": "r", "candles_1m": "r", "anomalies": "r", "candles_1h": "v"}


def test_unique_keys_of_the_contract_hold_the_time_column(fresh):
    db, _ = fresh
    keys = {
        r["table"]: r["columns"]
        for r in db.rows(
            "SELECT i.indrelid::regclass AS table, string_agg(a.attname, ',' ORDER BY k.n) AS columns"
            "  FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
            "  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
            " WHERE i.indisunique AND i.indrelid IN ('ticks'::regclass, 'candles_1m'::regclass, 'anomalies'::regclass)"
            " GROUP BY i.indexrelid, i.indrelid"
        )
    }
    # The job's ON CONFLICT targets and docs/contracts.md; every one holds the hypertable's time column.
    assert keys == {
        "ticks": "time,exchange,symbol,trade_id",
        "candles_1m": "exchange,symbol,bucket",
        "anomalies": "id,time",
    }
    indexes = {r["indexname"] for r in db.rows("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
    assert {"ticks_instrument_time_idx", "anomalies_time_idx"} <= indexes
    # Each index of ticks costs every tick row an insert: the unique key leads with time, so no index on time alone
    # (TimescaleDB's default one or ours) on either database.
    assert tick_indexes(db) == {
        'UNIQUE INDEX ticks_trade_key ON public.ticks USING btree ("time", exchange, symbol, trade_id)',
        'INDEX ticks_instrument_time_idx ON public.ticks USING btree (exchange, symbol, "time" DESC)',
    }
    # Both indexes compare the text columns byte by byte (COLLATE "C"), not by the database's locale.
    collations = {
        r["attname"]: r["collation"]
        for r in db.rows(
            "SELECT a.attname, c.collname AS collation FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation"
            " WHERE a.attrelid = 'ticks'::regclass AND a.attnum > 0 AND NOT a.attisdropped"
        )
    }
    assert {column: collations[column] for column in ("exchange", "symbol", "trade_id")} == {
        "exchange": "C",
        "symbol": "C",
        "trade_id": "C",
    }


def test_the_private_server_checkpoints_by_time_not_every_30_s_under_load(fresh):
    # README (Benchmark): the stack's private server runs with max_wal_size 4 GB; at the default 1 GB a 60k ticks/s
    # load forced a checkpoint every 30 s
    db, _ = fresh
    assert db.rows("SELECT setting, unit FROM pg_settings WHERE name = 'max_wal_size'") == [
        {"setting": "4096", "unit": "MB"}
    ]


def tick_indexes(db: Database) -> set[str]:
    return {
        r["indexdef"].removeprefix("CREATE ")
        for r in db.rows("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'ticks'")
    }


def test_a_ticks_table_made_before_its_key_led_with_time_keeps_its_key_and_on_plain_postgres_a_time_index(
    postgres_stack,
):
    """Release 0.1 keyed ticks (exchange, symbol, trade_id, time): re-applying sql/ rebuilds no key of a live table
    (the same uniqueness either way), and plain PostgreSQL then keeps the index its time-range scans need."""
    admin = superuser(postgres_stack)
    admin.run("DROP DATABASE IF EXISTS tickstream_old_key_test WITH (FORCE)")
    admin.run("CREATE DATABASE tickstream_old_key_test")
    db = admin.as_role(admin.user, admin.password, "tickstream_old_key_test")
    db.run(
        "CREATE TABLE ticks (time timestamptz NOT NULL, exchange text NOT NULL, symbol text NOT NULL,"
        " trade_id text NOT NULL, price numeric NOT NULL, size numeric NOT NULL, side text NOT NULL,"
        " recv_time timestamptz NOT NULL, CONSTRAINT ticks_trade_key UNIQUE (exchange, symbol, trade_id, time))"
    )
    for _ in range(2):
        for f in SQL_FILES:
            db.run(file=f)
    indexes = tick_indexes(db)
    assert 'UNIQUE INDEX ticks_trade_key ON public.ticks USING btree (exchange, symbol, trade_id, "time")' in indexes
    by_time = 'INDEX ticks_time_idx ON public.ticks USING btree ("time" DESC)' in indexes
    assert by_time != timescaledb(db), indexes
    admin.run("DROP DATABASE tickstream_old_key_test WITH (FORCE)")


def java_constants(file: str, *names: str) -> dict[str, str]:
    java = (REPO / "job/src/main/java/io/tickstream/sink" / file).read_text()
    out = {}
    for name in names:
        body = re.search(rf"String {name}\s*=(.*?);\s*$", java, re.S | re.M).group(1)
        out[name] = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', body))
    return out


def job_statements() -> dict[str, str]:
    """UPSERT_CANDLE, INSERT_ANOMALY as the job sends them (string constants of CandleTable and AnomalyTable)."""
    return {
        **java_constants("CandleTable.java", "UPSERT_CANDLE"),
        **java_constants("AnomalyTable.java", "INSERT_ANOMALY"),
    }


def tick_copy_statements() -> dict[str, str]:
    """The tick sink's COPY, staging table and INSERT ... SELECT (string constants of TickTable)."""
    return java_constants("TickTable.java", "COPY_TICKS", "CREATE_STAGING", "COPY_STAGING", "INSERT_FROM_STAGING")


SAMPLE = {
    "time": "2026-01-01T10:00:05Z",
    "bucket": "2026-01-01T10:00:00Z",
    "exchange": "schematest",
    "symbol": "BTC-USDT",
    "trade_id": "42",
    "price": "100.5",
    "size": "0.25",
    "side": "buy",
    "recv_time": "2026-01-01T10:00:05.1Z",
    "open": "100",
    "high": "101",
    "low": "99",
    "close": "100.5",
    "volume": "1.5",
    "trades": "3",
    "id": "schema-test-anomaly",
    "type": "PRICE_SPIKE",
    "ref_price": "99",
    "change_pct": "1.5",
    "zscore": None,
    "window_ms": "60000",
    "detected_at": "2026-01-01T10:00:05.2Z",
    "details": None,
    "incident_id": "schema-test-anomaly",
}


def bind(db: Database, sql: str, values: dict) -> None:
    """One of the job's statements (JDBC ? parameters) run with values by column name, as a prepared statement."""
    columns = [c.strip() for c in re.search(r"\(([^)]*)\)\s*VALUES", sql).group(1).split(",")]
    numbered, n = "", 0
    for ch in sql:
        if ch == "?":
            n += 1
            numbered += f"${n}"
        else:
            numbered += ch
    assert n == len(columns), (n, columns)
    args = ", ".join("NULL" if values[c] is None else "'" + str(values[c]).replace("'", "''") + "'" for c in columns)
    db.run(f"PREPARE s AS {numbered}; EXECUTE s({args})")


def run_job_statement(db: Database, sql: str) -> None:
    for _ in range(2):  # twice: idempotent
        bind(db, sql, SAMPLE)


def test_job_role_writes_rows_and_nothing_else(fresh):
    db, _ = fresh
    writer = job(db)
    for sql in job_statements().values():
        run_job_statement(writer, sql)
    # The tick sink: COPY into ticks, or (a batch with rows already there) rows into its session's staging table
    # and INSERT ... SELECT, in one transaction; twice, so it is idempotent. COPY's column lists are the tables'
    # (plain INSERTs stand in for COPY here: psql has no stdin stream per statement).
    ticks = tick_copy_statements()
    columns = "(time, exchange, symbol, trade_id, price, size, side, recv_time)"
    assert ticks["COPY_TICKS"] == f"COPY ticks {columns} FROM STDIN (FORMAT binary)"
    assert ticks["COPY_STAGING"] == f"COPY tick_rows {columns} FROM STDIN (FORMAT binary)"
    row = "('2026-01-01 10:00:05+00', 'schematest', 'BTC-USDT', '42', 100.5, 0.25, 'buy', '2026-01-01 10:00:05.1+00')"
    writer.run(
        f"INSERT INTO ticks {columns} VALUES ('2026-01-01 10:00:04+00', 'schematest', 'BTC-USDT', '41', 100.5,"
        " 0.25, 'buy', '2026-01-01 10:00:04.1+00')"
    )
    for _ in range(2):
        writer.run(
            f"{ticks['CREATE_STAGING']}; INSERT INTO tick_rows {columns} VALUES {row}; {ticks['INSERT_FROM_STAGING']}"
        )
    assert writer.value("SELECT count(*) FROM ticks WHERE exchange = 'schematest'") == "2"
    assert writer.value("SELECT count(*) FROM anomalies WHERE exchange = 'schematest'") == "1"
    writer.run("UPDATE candles_1m SET trades = trades WHERE exchange = 'schematest'")
    for ddl in (
        "CREATE TABLE intruder (x int)",
        "CREATE SCHEMA intruder",
        "CREATE VIEW intruder AS SELECT 1",
        "ALTER TABLE ticks ADD COLUMN intruder int",
        "DROP TABLE anomalies",
        drop_candles_1h(db),
        "CREATE INDEX intruder ON ticks (price)",
        "TRUNCATE candles_1m",
        "DELETE FROM ticks WHERE exchange = 'schematest'",
        "ALTER TABLE ticks OWNER TO tickstream",
    ):
        denied(writer, ddl)


def test_grafana_role_only_reads(fresh):
    db, _ = fresh
    reader = grafana(db)
    for relation in ("ticks", "candles_1m", "anomalies", "candles_1h"):
        reader.run(f"SELECT * FROM {relation} LIMIT 1")
    for sql in (
        "INSERT INTO anomalies (time, id, exchange, symbol, type, price, detected_at)"
        " VALUES (now(), 'x', 'x', 'x', 'x', 1, now())",
        "UPDATE candles_1m SET trades = 0",
        "DELETE FROM ticks",
        "TRUNCATE ticks",
        "CREATE TABLE intruder (x int)",
        drop_candles_1h(db),
    ):
        denied(reader, sql)


def test_candles_1h_rolls_up_complete_hours_of_candles_1m(fresh):
    db, _ = fresh
    writer = job(db)
    rows = [
        ("10:00", 100, 102, 99, 101, 1.5, 3),
        ("10:01", 101, 105, 100, 104, 2.0, 4),
        ("10:59", 104, 104, 98, 99, 0.5, 1),
        ("11:00", 99, 100, 97, 98, 1.0, 2),
    ]
    values = ", ".join(
        f"('2026-01-02T{t}:00Z', 'schematest', 'ETH-USDT', {o}, {h}, {lo}, {c}, {v}, {n})"
        for t, o, h, lo, c, v, n in rows
    )
    writer.run(
        f"INSERT INTO candles_1m (bucket, exchange, symbol, open, high, low, close, volume, trades) VALUES {values}"
        " ON CONFLICT (exchange, symbol, bucket) DO NOTHING"
    )
    hourly = grafana(db).rows(
        "SELECT to_char(bucket AT TIME ZONE 'UTC', 'HH24:MI') AS hour, open, high, low, close,"
        " volume, trades FROM candles_1h WHERE exchange = 'schematest' AND symbol = 'ETH-USDT'"
        " ORDER BY bucket"
    )
    assert [tuple(r.values()) for r in hourly] == [
        ("10:00", "100", "105", "98", "99", "4.0", "8"),
        ("11:00", "99", "100", "97", "98", "1.0", "2"),
    ]


# ---- TimescaleDB statements, checked against the TimescaleDB 2.x API (the extension is not installed here) ----

# Argument names of the functions used, from the TimescaleDB 2.x API reference (create_hypertable in its
# classic form, valid in every 2.x release; the policy functions as documented since 2.0).
TIMESCALE_API = {
    "create_hypertable": [
        "relation",
        "time_column_name",
        "partitioning_column",
        "number_partitions",
        "chunk_time_interval",
        "create_default_indexes",
        "if_not_exists",
        "partitioning_func",
        "associated_schema_name",
        "associated_table_prefix",
        "migrate_data",
        "time_partitioning_func",
    ],
    "set_chunk_time_interval": ["hypertable", "chunk_time_interval", "dimension_name"],
    "add_compression_policy": [
        "hypertable",
        "compress_after",
        "if_not_exists",
        "schedule_interval",
        "initial_start",
        "timezone",
        "compress_created_before",
    ],
    "remove_compression_policy": ["hypertable", "if_exists"],
    "add_retention_policy": [
        "relation",
        "drop_after",
        "schedule_interval",
        "initial_start",
        "timezone",
        "if_not_exists",
        "drop_created_before",
    ],
    "remove_retention_policy": ["relation", "if_exists"],
    "add_continuous_aggregate_policy": [
        "continuous_aggregate",
        "start_offset",
        "end_offset",
        "schedule_interval",
        "if_not_exists",
        "initial_start",
        "timezone",
    ],
    "remove_continuous_aggregate_policy": ["continuous_aggregate", "if_not_exists", "if_exists"],
    "refresh_continuous_aggregate": ["continuous_aggregate", "window_start", "window_end"],
}
REQUIRED = {
    "create_hypertable": {"if_not_exists", "chunk_time_interval", "migrate_data"},
    "add_compression_policy": {"compress_after", "if_not_exists"},
    "add_retention_policy": {"drop_after", "if_not_exists"},
    "add_continuous_aggregate_policy": {"start_offset", "end_offset", "schedule_interval", "if_not_exists"},
}


def calls(text: str, function: str) -> list[list[str]]:
    """The argument lists of each call of function (top-level commas split arguments)."""
    found = []
    for m in re.finditer(rf"\b{function}\s*\(", text):
        depth, i, args, current = 1, m.end(), [], ""
        while depth:
            ch = text[i]
            depth += ch == "("
            depth -= ch == ")"
            if depth == 1 and ch == ",":
                args.append(current.strip())
                current = ""
            elif depth:
                current += ch
            i += 1
        found.append(args + [current.strip()])
    return found


def timescale_branch(path: Path) -> str:
    """The part of a file psql runs only with TimescaleDB (\\if :timescaledb ... \\else)."""
    text = path.read_text()
    m = re.search(r"^\\if :timescaledb\s*$(.*?)^\\else\s*$", text, re.S | re.M)
    assert m, f"{path.name}: no \\if :timescaledb branch"
    return m.group(1)


def interval(text: str) -> int:
    n, unit = re.fullmatch(r"'?(\d+)\s*(minutes?|hours?|days?)'?", text.strip()).groups()
    return int(n) * {"m": 60, "h": 3600, "d": 86400}[unit[0]]


def test_timescale_statements_use_the_documented_api():
    branches = {p.name: timescale_branch(p) for p in SQL_FILES if "\\if :timescaledb" in p.read_text()}
    assert set(branches) == {"030_timescale.sql", "050_candles_1h.sql"}
    text = "\n".join(branches.values())
    seen = {}
    for function, names in TIMESCALE_API.items():
        for args in calls(text, function):
            named = {a.split("=>")[0].strip(): a.split("=>")[1].strip() for a in args if "=>" in a}
            positional = [a for a in args if "=>" not in a]
            assert set(named) <= set(names), f"{function}: unknown arguments {set(named) - set(names)}"
            assert not set(named) & set(names[: len(positional)]), f"{function}: an argument given twice"
            assert REQUIRED.get(function, set()) <= set(named), f"{function}({args}) lacks {REQUIRED[function]}"
            seen.setdefault(function, []).append((positional, named))
    hypertables = {p[0].strip("'"): p[1].strip("'") for p, _ in seen["create_hypertable"]}
    assert hypertables == {"ticks": "time", "candles_1m": "bucket", "anomalies": "time"}
    # Compression: enabled on each hypertable, segmented by instrument, newest first.
    for table in hypertables:
        m = re.search(rf"ALTER TABLE {table} SET \((.*?)\);", text, re.S)
        assert m, f"no compression settings for {table}"
        options = m.group(1)
        assert re.search(r"timescaledb\.compress\s*,", options)
        assert "timescaledb.compress_segmentby = 'exchange, symbol'" in options
        assert re.search(rf"timescaledb\.compress_orderby = '{hypertables[table]} DESC", options)
    # Policies: compression and retention through the helper that calls add_*_policy, for every hypertable.
    for kind in ("compression", "retention"):
        assert {m for m in re.findall(rf"tickstream_policy\('(\w+)', '{kind}'", text)} == set(hypertables)
    # Compression defaults stay well past the late-data horizon (2 min allowed lateness, replays).
    defaults = {
        name: value for value, name in re.findall(r"'(\d+ \w+)'\)\s+AS (\w+_compress)\b", branches["030_timescale.sql"])
    }
    assert set(defaults) == {"ticks_compress", "candles_compress", "anomalies_compress"}
    assert all(interval(v) >= 86400 for v in defaults.values()), defaults
    # The continuous aggregate: time_bucket of an hour over candles_1m, refreshed up to one bucket back.
    cagg = re.search(
        r"CREATE MATERIALIZED VIEW IF NOT EXISTS candles_1h\s+WITH \(timescaledb\.continuous[^)]*\) AS"
        r"(.*?)WITH NO DATA;",
        branches["050_candles_1h.sql"],
        re.S,
    )
    assert cagg and "time_bucket(INTERVAL '1 hour', bucket)" in cagg.group(1) and "FROM candles_1m" in cagg.group(1)
    for aggregate in (
        "first(open, bucket)",
        "max(high)",
        "min(low)",
        "last(close, bucket)",
        "sum(volume)",
        "sum(trades)",
    ):
        assert aggregate in cagg.group(1)
    ((_, policy),) = seen["add_continuous_aggregate_policy"]
    assert interval(policy["end_offset"].replace("INTERVAL", "")) >= 3600
    # Its window reaches back as far as candles_1m keeps rows (late candles of any retained hour get refreshed).
    assert policy["start_offset"] == "wanted"
    assert re.search(
        r"current_setting\('tickstream\.candles_retention', true\), ''\), '730 days'\) AS candles_retention",
        branches["050_candles_1h.sql"],
    )
    assert "tickstream_refresh_policy(:'candles_retention')" in branches["050_candles_1h.sql"]


def test_a_failed_password_statement_never_shows_the_password(postgres_stack):
    """psql quotes a failing statement back (LINE 1: ...): the stack's error must not carry the password in it."""
    sys.path.insert(0, str(REPO / "deploy"))
    from stack import postgres
    from stack.procs import StackError
    from stack.state import Stack

    admin = postgres.admin(Stack(postgres_stack.home))
    # longer than the 80 characters of the statement a message shows
    password = "s3cret-'quoted-" + "x" * 90  # secret-scan: sample
    with pytest.raises(StackError) as failed:
        admin.psql(
            f"ALTER ROLE no_such_role_here WITH LOGIN PASSWORD '{password.replace(chr(39), chr(39) * 2)}' BOGUS",
            secret=password,
        )
    message = str(failed.value)
    assert "psql failed" in message and "BOGUS" in message, message  # the server's own message is still there
    assert "s3cret" not in message and "xxxx" not in message, message
