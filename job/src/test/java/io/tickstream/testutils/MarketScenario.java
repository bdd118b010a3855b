package io.tickstream.testutils;

import io.tickstream.model.AnomalyType;
import io.tickstream.model.Side;
import io.tickstream.model.Tick;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * A reproducible market for graph tests: per instrument a calm random walk (steps of at most 0.001 %,
 * trades too small to reach the volume detector's minimum notional) with, on the injected instruments,
 * a 0.5 % level shift (one RETURN_ZSCORE on the trade that makes it: an outlier return, not a price move), later a
 * 2 % level shift (one PRICE_SPIKE on the trade that makes it; its outlier return is the same move, no second
 * alert) and later a burst of five block trades at an unchanged price (one VOLUME_SPIKE on the second of them: see
 * {@link #BURST_SIZE}). Expected alerts are known by construction, not by running the detectors.
 */
public final class MarketScenario {
    /**
     * A burst trade's size: R = 5.4e7 times the calm trades' geometric mean size (0.00147; they are 0.00100 to
     * 0.00199, uniform). VOLUME_SPIKE (default 2 s window of 500 ms steps, 10x) measures a window as its n trades
     * times their geometric mean size, and a normal window holds N = 2 s / spacing calm trades; with k burst trades
     * among n that is n/N x R^(k/n) times normal. At the spacings used here, 150 ms (n from 11 to 14 as the window
     * slides) and 200 ms (n from 8 to 11), one burst trade reads 3.7-7.4x, two read 13-69x: the alert is on the
     * second, whatever the alignment.
     */
    private static final String BURST_SIZE = "80000.00000";

    private static final int BURST_TRADES_TO_ALERT = 2;

    public record Expected(String instrument, AnomalyType type, String tradeId) {}

    public final List<Tick> trades = new ArrayList<>();
    public final List<Expected> expected = new ArrayList<>();

    /**
     * @param symbols one instrument per symbol, exchange {@code synthetic}
     * @param injected how many of them (the first ones) get the spike and the burst
     */
    public MarketScenario(
            List<String> symbols, int injected, int tradesPerInstrument, long startTs, long spacingMs, long seed) {
        Random random = new Random(seed);
        for (int s = 0; s < symbols.size(); s++) {
            String symbol = symbols.get(s);
            boolean inject = s < injected;
            int outlierAt = tradesPerInstrument / 4;
            int spikeAt = tradesPerInstrument / 2;
            int burstAt = tradesPerInstrument * 3 / 4;
            long cents = 5_000_000L + random.nextInt(100_000); // ~50,000.00
            long firstId = 1_000_000L * (s + 1);
            for (int i = 0; i < tradesPerInstrument; i++) {
                if (inject && i == outlierAt) {
                    cents = cents * 1005 / 1000;
                } else if (inject && i == spikeAt) {
                    cents = cents * 102 / 100;
                } else if (i > 0) {
                    cents += random.nextInt(101) - 50; // at most 0.50 on ~50,000: 0.001 %
                }
                boolean burst = inject && i >= burstAt && i < burstAt + 5;
                String size = burst ? BURST_SIZE : "0.00" + (100 + random.nextInt(100)) + "0";
                long ts = startTs + i * spacingMs + s; // distinct times across instruments
                Tick t = new Tick(
                        "synthetic",
                        symbol,
                        Long.toString(firstId + i),
                        firstId + i,
                        BigDecimal.valueOf(cents, 2).toPlainString(),
                        cents / 100.0,
                        size,
                        Double.parseDouble(size),
                        random.nextBoolean() ? Side.BUY : Side.SELL,
                        ts,
                        ts + 7);
                trades.add(t);
                if (inject && i == outlierAt) {
                    expected.add(new Expected(t.instrument(), AnomalyType.RETURN_ZSCORE, t.tradeId()));
                }
                if (inject && i == spikeAt) {
                    expected.add(new Expected(t.instrument(), AnomalyType.PRICE_SPIKE, t.tradeId()));
                }
                if (burst && i == burstAt + BURST_TRADES_TO_ALERT - 1) {
                    expected.add(new Expected(t.instrument(), AnomalyType.VOLUME_SPIKE, t.tradeId()));
                }
            }
        }
        trades.sort(Comparator.comparingLong(Tick::ts));
    }

    /** The venue {@link #divergingVenues} moves away from the other. */
    public static final String DIVERGING_VENUE = "coinbase";

    /**
     * One asset on two venues, {@code binance:BASE-USDT} and {@code coinbase:BASE-USD} (USDT priced as USD), each
     * trading every 250 ms for 60 s on a calm walk around 67,000; from 20 s to 40 s coinbase trades 0.75 % above
     * binance: one CROSS_VENUE_DIVERGENCE (the gap holds longer than the default 5 s, above the default 0.5 %), on
     * {@link #DIVERGING_VENUE}. The step also makes outlier returns on coinbase, so its per-instrument alerts are not
     * known by construction: callers check the divergence only.
     */
    public static List<Tick> divergingVenues(String base, long startTs, long seed) {
        Random random = new Random(seed);
        List<Tick> out = new ArrayList<>();
        long cents = 6_700_000L;
        for (int i = 0; i < 240; i++) {
            cents += random.nextInt(101) - 50;
            long ts = startTs + i * 250L;
            boolean diverged = ts - startTs >= 20_000 && ts - startTs < 40_000;
            long coinbase = diverged ? cents * 10075 / 10000 : cents + random.nextInt(101) - 50;
            out.add(venueTrade("binance", base + "-USDT", 1_000_000L + i, cents, ts));
            out.add(venueTrade(DIVERGING_VENUE, base + "-USD", 5_000_000L + i, coinbase, ts + 125));
        }
        return out;
    }

    private static Tick venueTrade(String exchange, String symbol, long seq, long cents, long ts) {
        return new Tick(
                exchange,
                symbol,
                Long.toString(seq),
                seq,
                BigDecimal.valueOf(cents, 2).toPlainString(),
                cents / 100.0,
                "0.00100",
                0.001,
                Side.BUY,
                ts,
                ts + 7);
    }

    /** The trades in an arrival order shuffled within {@code boundMs}: none arrives after the watermark passed it. */
    public List<Tick> shuffledWithin(long boundMs, long seed) {
        Random random = new Random(seed);
        List<long[]> order = new ArrayList<>();
        for (int i = 0; i < trades.size(); i++) {
            order.add(new long[] {trades.get(i).ts() + (long) (random.nextDouble() * (boundMs - 1)), i});
        }
        order.sort(Comparator.comparingLong((long[] a) -> a[0]).thenComparingLong(a -> a[1]));
        List<Tick> out = new ArrayList<>();
        for (long[] o : order) {
            out.add(trades.get((int) o[1]));
        }
        return out;
    }

    /** Tick JSON v1 as the producers write it. */
    public static byte[] json(Tick t) {
        return ("{\"v\":1,\"exchange\":\"" + t.exchange() + "\",\"symbol\":\"" + t.symbol() + "\",\"trade_id\":\""
                        + t.tradeId() + "\",\"price\":\"" + t.price() + "\",\"size\":\"" + t.size() + "\",\"side\":\""
                        + t.side().json() + "\",\"ts\":" + t.ts() + ",\"recv_ts\":" + t.recvTs() + "}")
                .getBytes(StandardCharsets.UTF_8);
    }

    public static byte[] key(Tick t) {
        return t.instrument().getBytes(StandardCharsets.UTF_8);
    }

    /** Bad records of every kind, with the reason the job must give each (prefix). */
    public static List<String[]> badRecords(long now) {
        List<String[]> bad = new ArrayList<>();
        String ok = "\"v\":1,\"exchange\":\"synthetic\",\"symbol\":\"BAD-USD\",\"trade_id\":\"1\",\"side\":\"buy\",";
        bad.add(new String[] {"synthetic:BAD-USD", "not json at all", "not valid JSON"});
        bad.add(new String[] {"synthetic:BAD-USD", "{\"v\":1,\"exchange\":\"synth", "not valid JSON"});
        bad.add(new String[] {"synthetic:BAD-USD", "[1,2,3]", "not a JSON object"});
        bad.add(new String[] {
            "synthetic:BAD-USD",
            "{" + ok + "\"price\":\"0\",\"size\":\"1\",\"ts\":" + now + ",\"recv_ts\":" + now + "}",
            "price must be positive"
        });
        bad.add(new String[] {
            "synthetic:BAD-USD",
            "{" + ok + "\"price\":\"-5\",\"size\":\"1\",\"ts\":" + now + ",\"recv_ts\":" + now + "}",
            "price must be positive"
        });
        bad.add(new String[] {
            "synthetic:BAD-USD",
            "{" + ok + "\"price\":\"NaN\",\"size\":\"1\",\"ts\":" + now + ",\"recv_ts\":" + now + "}",
            "price must be a decimal string"
        });
        bad.add(new String[] {
            "synthetic:BAD-USD",
            "{" + ok + "\"price\":12.5,\"size\":\"1\",\"ts\":" + now + ",\"recv_ts\":" + now + "}",
            "field price must be a string"
        });
        bad.add(new String[] {
            "synthetic:BAD-USD",
            "{" + ok + "\"price\":\"1\",\"size\":\"abc\",\"ts\":" + now + ",\"recv_ts\":" + now + "}",
            "size must be a decimal string"
        });
        bad.add(new String[] {
            "synthetic:BAD-USD",
            "{" + ok + "\"price\":\"1\",\"size\":\"1\",\"ts\":1000,\"recv_ts\":" + now + "}",
            "ts is before 2009"
        });
        bad.add(new String[] {
            "synthetic:BAD-USD",
            "{" + ok + "\"price\":\"1\",\"size\":\"1\",\"ts\":" + (now + 86_400_000L) + ",\"recv_ts\":" + now + "}",
            "ts is in the future"
        });
        bad.add(new String[] {
            "synthetic:BAD-USD",
            "{" + ok.replace("\"v\":1", "\"v\":2") + "\"price\":\"1\",\"size\":\"1\",\"ts\":" + now + ",\"recv_ts\":"
                    + now + "}",
            "unsupported version"
        });
        bad.add(new String[] {
            "nowhere:BAD-USD",
            "{" + ok.replace("synthetic", "nowhere") + "\"price\":\"1\",\"size\":\"1\",\"ts\":" + now + ",\"recv_ts\":"
                    + now + "}",
            "unknown exchange"
        });
        bad.add(new String[] {
            "synthetic:BAD-USD",
            "{" + ok + "\"size\":\"1\",\"ts\":" + now + ",\"recv_ts\":" + now + "}",
            "missing field price"
        });
        bad.add(new String[] {
            "", "{" + ok + "\"price\":\"1\",\"size\":\"1\",\"ts\":" + now + ",\"recv_ts\":" + now + "}", "missing key"
        });
        bad.add(new String[] {"synthetic:BAD-USD", "", "empty value"});
        return bad;
    }
}
