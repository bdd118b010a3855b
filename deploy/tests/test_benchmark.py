"""The benchmark's verdict on a step's backlog (deploy/bench): bounded or growing; and how it follows the ticks
table during a step (on a real PostgreSQL with sql/ applied)."""

import json
import mmap
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from bench.benchmark import (
    AnomalyWatch,
    Deliveries,
    MajorFaults,
    climbing,
    cpu_reference,
    cpu_reference_line,
    database_in_use,
    kept_up_from_the_lowest,
    lag_bounded,
    median_of_passes,
    passes_text,
    pauses,
    pauses_line,
    reclaim_line,
    slope,
    stamp_anomalies_on_append,
    step_symbols,
    warmup_line,
)
from bench.procstat import machine_cpu, major_faults, proactive_reclaim, steal_pct
from bench.tickrows import TickRows
from confluent_kafka import Producer
from conftest import wait_for
from stack_fixtures import kafka_stack, postgres_stack, superuser  # noqa: F401 (fixture)

from stack.kafka import TOPICS
from stack.postgres import Admin
from stack.state import REPO, Stack
from tickstream_producers.sinks import kafka_config


def samples(backlogs: list[float]) -> list[dict]:
    return [{"t": float(i), "backlog": b} for i, b in enumerate(backlogs)]


def test_slope_is_the_least_squares_fit():
    assert slope([0, 1, 2, 3], [5, 7, 9, 11]) == 2.0
    assert slope([1], [5]) == 0.0
    assert slope([2, 2], [1, 9]) == 0.0


def test_a_backlog_that_jumps_by_batches_but_does_not_grow_is_bounded():
    rng = random.Random(7)
    # 50k ticks/s, batches of up to 5k rows in flight, and one last sample caught just before a commit.
    backlog = [rng.uniform(0, 5000) for _ in range(39)] + [13_500]
    growth, bounded = lag_bounded(samples(backlog), 50_000)
    assert bounded, growth


def test_a_backlog_that_keeps_growing_is_not_bounded():
    backlog = [i * 3000 + (i % 3) * 2000 for i in range(40)]  # 3k/s more than the pipeline takes
    growth, bounded = lag_bounded(samples(backlog), 50_000)
    assert not bounded
    assert 2500 < growth < 3500


def test_growth_is_judged_between_the_exact_counts_not_the_noisy_statistics():
    rng = random.Random(11)
    # 30k ticks/s: the insert statistics swing by ±10,000 rows; the exact counts at mid-step and end agree
    noisy = samples([rng.uniform(-10_000, 10_000) + (i * 800 if i > 30 else 0) for i in range(40)])
    mid = {"t": 20.2, "backlog": 4_000, "exact": True}
    growth, bounded = lag_bounded([*noisy[:21], mid, *noisy[21:], {"t": 40.3, "backlog": 3_000, "exact": True}], 30_000)
    assert bounded, growth
    # a step 2 s behind and still falling behind, whatever the statistics say
    calm = samples([0.0] * 40)
    growth, bounded = lag_bounded(
        [
            *calm[:21],
            {"t": 20.2, "backlog": 40_000, "exact": True},
            *calm[21:],
            {"t": 40.3, "backlog": 60_000, "exact": True},
        ],
        30_000,
    )
    assert not bounded
    assert 900 < growth < 1100


def test_a_backlog_left_at_the_end_of_more_than_three_seconds_is_not_bounded():
    growth, bounded = lag_bounded(samples([160_000] * 40), 50_000)
    assert growth == 0.0
    assert not bounded


def insert_ticks(db, symbol: str, n: int, newest_age_s: int) -> None:
    db.run(
        "INSERT INTO ticks (time, exchange, symbol, trade_id, price, size, side, recv_time)"
        f" SELECT now() - make_interval(secs => {newest_age_s} + {n} - i), 'synthetic', '{symbol}', i::text,"
        f" 100, 1, 'buy', now() FROM generate_series(1, {n}) AS i"
    )


def test_a_step_is_sustained_only_when_every_lower_step_kept_up_too():
    def step(load, bounded, persisted=True):
        return {"offered_per_s": load, "lag_bounded": bounded, "all_persisted": persisted}

    steps = [step(5000, True), step(62000, False), step(20000, True), step(82000, True), step(40000, True)]
    assert [s["offered_per_s"] for s in kept_up_from_the_lowest(steps)] == [5000, 20000, 40000]
    assert kept_up_from_the_lowest([step(5000, True, persisted=False), step(20000, True)]) == []
    assert len(kept_up_from_the_lowest([step(5000, True), step(20000, True)])) == 2


def test_the_steps_climb_past_the_listed_loads_until_one_does_not_keep_up_or_the_ceiling_is_reached():
    def run(loads, keeps_up, climb=4, by=6000, ceiling=1_000_000):
        steps = []
        for load in climbing(loads, steps, climb, by, ceiling):
            steps.append({"offered_per_s": load, "lag_bounded": keeps_up(load), "all_persisted": True})
        return [s["offered_per_s"] for s in steps]

    assert run([5000, 20000], lambda load: load <= 32000) == [5000, 20000, 26000, 32000, 38000]
    assert run([5000, 20000], lambda load: True) == [5000, 20000, 26000, 32000, 38000, 44000]
    assert run([5000, 20000], lambda load: True, climb=0) == [5000, 20000]
    assert run([5000, 20000], lambda load: True, ceiling=35_000) == [5000, 20000, 26000, 32000]
    # a listed step that fell behind: no climbing, whatever the higher listed steps did
    assert run([5000, 20000, 40000], lambda load: load != 20000) == [5000, 20000, 40000]


def test_steal_is_the_stolen_share_of_the_machines_cpu_time_between_two_readings():
    assert steal_pct((1000, 40), (1400, 140)) == 25.0
    assert steal_pct((1000, 40), (1000, 40)) == 0.0
    first = machine_cpu()
    sum(i * i for i in range(200_000))
    second = machine_cpu()
    assert second[0] >= first[0] and 0 <= steal_pct(first, second) <= 100


def test_a_ceiling_is_the_middle_of_its_passes_neither_the_fastest_nor_one_pass():
    # passes as this host read them: one at a fast moment, one slow, one between
    passes = [{"copy-direct": 114_864}, {"copy-direct": 59_295}, {"copy-direct": 84_535}]
    assert median_of_passes(passes, "copy-direct") == 84_535
    assert passes_text({"sink_path_passes": [114_864, 84_535, 59_295]}, "sink_path_passes") == (
        "median of 114,864 / 84,535 / 59,295"
    )
    assert passes_text({"msgs_per_s": 96_256}) == "one pass"  # results written before the ceilings had passes


def test_tick_rows_follows_inserts_cheaply_and_counts_exactly(postgres_stack):
    db = superuser(postgres_stack)
    with TickRows(Admin(db.host, db.port, db.user, db.password), db.database) as table:
        before = table.inserted()
        insert_ticks(db, "BENCH1-USDT", 300, newest_age_s=60)
        insert_ticks(db, "BENCH2-USDT", 200, newest_age_s=0)
        # the statistics arrive when the inserting backend publishes them (here: as its session ends)
        wait_for("the insert statistics", lambda: table.inserted() - before == 500, timeout=15)
        assert table.exact("synthetic", ["BENCH1-USDT", "BENCH2-USDT"]) == 500
        assert table.exact("synthetic", ["BENCH2-USDT"]) == 200
        assert table.exact("binance", ["BENCH2-USDT"]) == 0
        assert 60_000 <= table.age_ms("synthetic", "BENCH1-USDT") < 70_000
        assert table.age_ms("synthetic", "NONE-USDT") is None
        with pytest.raises(ValueError):
            table.exact("synthetic", ["X'); DROP TABLE ticks; --"])
        with pytest.raises(RuntimeError, match="does not exist"):
            table.query("SELECT no_such_column FROM ticks")


def test_the_report_names_the_database_the_ticks_went_to(postgres_stack):
    db = superuser(postgres_stack)
    named = database_in_use(Stack.open(str(postgres_stack.home)))
    server = db.value("SHOW server_version").split()[0]
    extension = db.value("SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'), 'none')")
    assert named["postgres"] == server
    if extension != "none":
        assert named == {
            "kind": "timescaledb",
            "postgres": server,
            "timescaledb": extension,
            "name": f"TimescaleDB {extension} hypertables on PostgreSQL {server}",
        }
    else:
        assert named == {
            "kind": "postgres",
            "postgres": server,
            "timescaledb": None,
            "name": f"plain PostgreSQL {server}",
        }


def test_deliveries_count_each_anomaly_of_the_step_once_from_its_trade_time(tmp_path):
    """Notification latency: the step's anomalies at their first delivery to the receiver, nothing from before the
    step, no other symbol, no pipeline-health notification."""
    import datetime
    import json

    class FakeStack:
        def path(self, *parts):
            return tmp_path.joinpath(*parts)

    def delivery(received_at, path, *alerts):
        return (
            json.dumps(
                {
                    "received_at": received_at,
                    "path": path,
                    "payload": {
                        "alerts": [
                            {
                                "labels": {
                                    "alertname": "TickStreamAnomaly",
                                    "anomaly_id": i,
                                    "symbol": sym,
                                    "type": "PRICE_SPIKE",
                                    "asset": sym.split("-")[0],
                                    "quote_class": "USD",
                                },
                                "annotations": {"trade_time": trade},
                                "startsAt": "2026-12-01T09:00:00.000Z",
                            }
                            for i, sym, trade in alerts
                        ]
                    },
                }
            )
            + "\n"
        )

    log = tmp_path / "alerts" / "notifications.jsonl"
    log.parent.mkdir()
    log.write_text(delivery(1_796_000_000_500, "/anomalies", ("old", "S0A-USDT", "2026-12-01T00:00:00.000Z")))
    deliveries = Deliveries(FakeStack())
    with open(log, "a") as f:
        f.write(
            delivery(
                1_796_000_000_300,
                "/anomalies",
                ("a", "S0A-USDT", "2026-12-01T00:00:00.000Z"),
                ("b", "S0B-USDT", "2026-12-01T00:00:00.100Z"),
                ("c", "OTHER-USDT", "2026-12-01T00:00:00.000Z"),
            )
        )
        f.write(delivery(1_796_000_002_000, "/anomalies", ("a", "S0A-USDT", "2026-12-01T00:00:00.000Z")))
        f.write(delivery(1_796_000_000_900, "/alerts", ("d", "S0A-USDT", "2026-12-01T00:00:00.000Z")))
        # a later anomaly of S0B's group: it joins the group notified above
        f.write(delivery(1_796_000_003_000, "/anomalies", ("e", "S0B-USDT", "2026-12-01T00:00:01.000Z")))
    trade_a = datetime.datetime.fromisoformat("2026-12-01T00:00:00+00:00").timestamp() * 1000
    assert sorted(deliveries.first_deliveries(["S0A-USDT", "S0B-USDT"])) == sorted(
        [
            (1_796_000_000_300 - trade_a, True),  # S0A's group was notified before the step ("old")
            (1_796_000_000_300 - trade_a - 100, False),
            (1_796_000_003_000 - trade_a - 1000, True),
        ]
    )
    assert sorted(deliveries.latencies(["S0A-USDT", "S0B-USDT"])) == sorted(
        latency for latency, _ in deliveries.first_deliveries(["S0A-USDT", "S0B-USDT"])
    )


def test_the_report_gives_the_cpu_reference_of_the_run_and_says_whether_it_warmed_up():
    ref = {"before": cpu_reference(repeats=3), "after": {"min_s": 0.2, "median_s": 0.25}}
    assert 0 < ref["before"]["min_s"] <= ref["before"]["median_s"]
    line = cpu_reference_line(ref)
    assert f"{ref['before']['min_s']}/{ref['before']['median_s']} s before the run, 0.2/0.25 s after" in line
    assert warmup_line({"offered_per_s": 20_000, "seconds": 60}).startswith("Warm-up: 20,000 ticks/s for 60 s")
    assert warmup_line(None).startswith("No warm-up")


def test_each_steps_instruments_land_evenly_on_every_partition_of_the_ticks_topic(kafka_stack):
    """Through the producers' own Kafka settings to a real broker: a partition that got none of a step's instruments
    would hold the job's event time back, and the instruments' first trades with it, for the idle timeout."""
    landed: dict[str, int] = {}

    def delivered(err, msg):
        assert err is None, err
        landed[msg.key().decode()] = msg.partition()

    partitions = TOPICS["ticks"]
    producer = Producer(kafka_config(f"127.0.0.1:{kafka_stack.port('kafka')}"))
    for index in (1, 2, "W"):
        for symbol in step_symbols(index, partitions):
            producer.produce("ticks", key=f"synthetic:{symbol}".encode(), value=b"{}", on_delivery=delivered)
    assert producer.flush(30) == 0
    for index in (1, 2, "W"):
        symbols = step_symbols(index, partitions)
        got = sorted(landed[f"synthetic:{s}"] for s in symbols)
        assert got == sorted(list(range(partitions)) * (len(symbols) // partitions)), (index, got)


def test_the_watch_takes_each_alerts_append_time_from_the_broker_not_from_its_writer(kafka_stack):
    """On a real broker: the job's writer stamps an alert with its trade time, so the split of an alert's latency
    (trade -> append -> arrival) needs the topic to stamp records on append instead."""
    bootstrap = f"127.0.0.1:{kafka_stack.port('kafka')}"
    stamp_anomalies_on_append(bootstrap)
    watch = AnomalyWatch(bootstrap)
    watch.start()
    try:
        assert watch.ready.wait(30)
        producer = Producer({"bootstrap.servers": bootstrap})
        sent: dict[str, tuple[float, float]] = {}

        def one_arrives() -> bool:
            # The watch starts from the topic's end, resolved at its first fetch: an alert sent before that is
            # skipped, so send another each time until one has arrived.
            alert_id = f"alert-{len(sent)}"
            before = time.time() * 1000
            producer.produce("anomalies", value=b'{"type": "no id"}')  # read past, not the end of the watch
            producer.produce("anomalies", value=json.dumps({"id": alert_id}).encode(), timestamp=1_000)
            assert producer.flush(30) == 0
            sent[alert_id] = (before, time.time() * 1000)
            return any(a.get("id") in sent for _, a in watch.received)

        wait_for("an alert through the watch", one_arrives, timeout=60, interval=0.5)
    finally:
        watch.stop_event.set()
        watch.join(10)
    arrived = {a["id"] for _, a in watch.received if "id" in a}
    assert arrived and set(watch.appended) == arrived
    for alert_id, appended in watch.appended.items():
        before, after = sent[alert_id]
        assert before - 5 <= appended <= after + 5, (alert_id, appended, before, after)


def test_major_faults_count_the_pages_a_process_had_to_read_back_from_disk():
    """A real process and a real file: pages dropped from the page cache are read back from disk when touched. The
    file lies in the repository's build directory: a tmpfs /tmp keeps its pages in memory whatever one advises."""
    target = REPO / "deploy" / "target"
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as directory:
        touch_cold_then_cached(Path(directory) / "cold.bin")
    assert major_faults(2**22 + 1) is None  # above pid_max's default: no such process


def touch_cold_then_cached(path: Path) -> None:
    path.write_bytes(random.Random(7).randbytes(8 << 20))
    with open(path, "rb") as f:
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)  # clean pages: dropped
        before = major_faults(os.getpid())
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as pages:
            for i in range(0, len(pages), mmap.PAGESIZE):
                pages[i]
        after = major_faults(os.getpid())
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as pages:  # cached now: minor faults only
            for i in range(0, len(pages), mmap.PAGESIZE):
                pages[i]
    assert after > before
    assert major_faults(os.getpid()) == after


def test_faults_between_two_times_are_those_of_the_sampling_intervals_that_overlap_them():
    faults = MajorFaults(os.getpid())
    faults.samples = [(0.0, 5), (50.0, 5), (100.0, 7), (150.0, 7), (200.0, 9)]
    assert faults.between(60, 90) == 2  # inside one interval: its faults, though they may have come just before
    assert faults.between(50, 100) == 2
    assert faults.between(100, 150) == 0
    assert faults.between(40, 160) == 4
    assert faults.between(-10, 20) is None  # before the first sample: not covered
    assert faults.between(190, 260) is None
    assert faults.total() == 4


def test_the_machines_proactive_reclaim_is_read_from_the_running_damon_schemes(tmp_path):
    def kdamond(n: int, state: str, action: str, aggr_us: int = 5_000_000, age_min: int = 12, accesses: int = 1):
        context = tmp_path / str(n) / "contexts" / "0"
        scheme = context / "schemes" / "0"
        for d in ("access_pattern/age", "access_pattern/nr_accesses"):
            (scheme / d).mkdir(parents=True)
        (context / "monitoring_attrs/intervals").mkdir(parents=True)
        (tmp_path / str(n) / "state").write_text(state + "\n")
        (scheme / "action").write_text(action + "\n")
        (scheme / "access_pattern/age/min").write_text(f"{age_min}\n")
        (scheme / "access_pattern/nr_accesses/max").write_text(f"{accesses}\n")
        (context / "monitoring_attrs/intervals/aggr_us").write_text(f"{aggr_us}\n")

    assert proactive_reclaim(tmp_path) is None
    kdamond(0, "off", "pageout")
    kdamond(1, "on", "stat")
    assert proactive_reclaim(tmp_path) is None  # stopped, or only watching
    kdamond(2, "on", "pageout", aggr_us=100_000, age_min=50, accesses=0)
    assert proactive_reclaim(tmp_path) == (
        "DAMON pages out memory seen accessed in at most 0 of its samples per 0.1 s for 5 s or more"
    )
    assert proactive_reclaim(tmp_path / "absent") is None
    (tmp_path / "2" / "contexts/0/schemes/0/access_pattern/age/min").write_text("not a number\n")
    kdamond(3, "on", "pageout")
    (tmp_path / "3" / "contexts/0/monitoring_attrs/intervals/aggr_us").unlink()
    assert proactive_reclaim(tmp_path) == "; ".join(["DAMON pages out memory (its thresholds unreadable)"] * 2)


def test_the_report_puts_the_late_alerts_after_their_append_beside_the_brokers_major_faults():
    steps = [
        {"offered_per_s": 5_000, "slow_after_append": {"alerts": 3, "with_broker_major_fault": 2}},
        {"offered_per_s": 20_000, "slow_after_append": {"alerts": 0, "with_broker_major_fault": 0}},
        {"offered_per_s": 30_000, "slow_after_append": {"alerts": 1, "with_broker_major_fault": 1}},
    ]
    line = reclaim_line("DAMON pages out memory", steps)
    assert line.startswith("Proactive memory reclaim: DAMON pages out memory.")
    assert "5,000/s: 3, 2 of them with a broker major fault; 20,000/s: 0, 0 of them" in line
    assert "30,000" not in line  # not a step whose alert latency is a target
    assert reclaim_line(None, []).startswith("Proactive memory reclaim: none.")


SAMPLER_IN_A_CHILD = """
import json, os, sys, time
from bench.benchmark import MajorFaults, pauses
sampler = MajorFaults(os.getpid())
sampler.start()
while len(sampler.samples) < 5:
    time.sleep(0.01)
print("sampling", flush=True)
sys.stdin.readline()  # the parent stopped and continued this process meanwhile
time.sleep(0.2)
sampler.stop_event.set()
sampler.join()
print(json.dumps(pauses([t for t, _ in sampler.samples])), flush=True)
"""


def test_a_process_that_stood_still_shows_as_a_pause_of_its_sampler():
    """A real sampler thread in a real process that is stopped (SIGSTOP) for 1.5 s, as a paused virtual machine stops
    every process: the gap shows in its samples as one pause of that length."""
    child = subprocess.Popen(
        [sys.executable, "-c", SAMPLER_IN_A_CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO / "deploy",
    )
    try:
        assert child.stdout.readline().strip() == "sampling"
        child.send_signal(signal.SIGSTOP)
        time.sleep(1.5)  # the length of the pause under test, not a wait for a condition
        child.send_signal(signal.SIGCONT)
        child.stdin.write("\n")
        child.stdin.flush()
        found = json.loads(child.stdout.readline())
    finally:
        child.kill()
        child.wait()
    assert len(found) == 1
    assert 1.4 <= found[0]["seconds"] <= 3.0


def test_pauses_are_the_sampling_gaps_of_a_second_or_more_and_the_report_names_their_steps():
    assert pauses([0, 50, 100, 1300, 1350, 1400, 34400, 34450]) == [
        {"at_ms": 100, "seconds": 1.2},
        {"at_ms": 1400, "seconds": 33.0},
    ]
    assert pauses([0, 50, 999, 1049]) == []  # 949 ms late: a busy machine, not a pause
    assert pauses([]) == []
    steps = [
        {"offered_per_s": 5_000, "machine_paused": []},
        {"offered_per_s": 20_000, "machine_paused": [{"at_ms": 1, "seconds": 33.0}, {"at_ms": 2, "seconds": 1.2}]},
        {"offered_per_s": 30_000},  # results from before pauses were sampled
    ]
    line = pauses_line(steps)
    assert "during the steps at 20,000/s: 33.0 s, 1.2 s:" in line
    assert "5,000" not in line and "30,000" not in line
    assert pauses_line(steps[:1]).endswith("none during any step.")
