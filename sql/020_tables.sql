-- The tables the job writes (docs/contracts.md). Safe to re-apply.
-- Every unique key holds the time column, so the same tables can become TimescaleDB hypertables.

CREATE TABLE IF NOT EXISTS ticks (
  time       timestamptz NOT NULL,          -- the venue's trade time (tick `ts`)
  -- The keys' text columns compare byte by byte, not by the database's collation (locale-aware comparison was a
  -- tenth of PostgreSQL's CPU per COPYed row, README "Benchmark"); equality is the same. Tables created before 0.2
  -- keep the database's.
  exchange   text        COLLATE "C" NOT NULL,
  symbol     text        COLLATE "C" NOT NULL,
  trade_id   text        COLLATE "C" NOT NULL,
  price      numeric     NOT NULL,          -- exact decimal as the venue sent it
  size       numeric     NOT NULL,
  side       text        NOT NULL,          -- taker side: buy, sell, unknown
  recv_time  timestamptz NOT NULL,          -- when the producer received it (tick `recv_ts`)
  -- Time first: a new trade's key lands at the index's right edge instead of among its instrument's older trades
  -- (PostgreSQL CPU per COPYed row -16 %, README "Benchmark"), and the key serves time-range scans. A table
  -- created before 0.2 keeps (exchange, symbol, trade_id, time): the same uniqueness, a little more CPU per row.
  CONSTRAINT ticks_trade_key UNIQUE (time, exchange, symbol, trade_id)
);

CREATE TABLE IF NOT EXISTS candles_1m (
  bucket     timestamptz NOT NULL,          -- start of the minute
  exchange   text        NOT NULL,
  symbol     text        NOT NULL,
  open       numeric     NOT NULL,
  high       numeric     NOT NULL,
  low        numeric     NOT NULL,
  close      numeric     NOT NULL,
  volume     numeric     NOT NULL,
  trades     bigint      NOT NULL,
  CONSTRAINT candles_1m_key UNIQUE (exchange, symbol, bucket)
);

CREATE TABLE IF NOT EXISTS anomalies (
  time        timestamptz      NOT NULL,    -- trade time of the tick that raised it
  id          text             NOT NULL,    -- deterministic: same input, same id
  exchange    text             NOT NULL,
  symbol      text             NOT NULL,
  type        text             NOT NULL,
  price       numeric          NOT NULL,
  ref_price   numeric,
  change_pct  double precision,
  zscore      double precision,
  window_ms   bigint,
  trade_id    text,
  detected_at timestamptz      NOT NULL,
  details     jsonb,                         -- detector-specific extras (e.g. both venues of a divergence)
  -- The id alone identifies an anomaly; `time` is in the key because a hypertable's unique keys must hold it
  -- (an id always comes with the same time, so this is the same constraint).
  CONSTRAINT anomalies_id_key UNIQUE (id, time)
);
