package io.tickstream.eval;

import io.tickstream.model.AnomalyType;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * A seeded stream of trades with the microstructure of a real venue, which the producers' generator (even arrivals,
 * constant volatility) does not have:
 * <ul>
 *   <li>volatility clustering: GARCH(1,1) on each second's return, around a long-run level that drifts between
 *       about 40 % and 120 % annualised within the hour;</li>
 *   <li>fat-tailed shocks: Student-t (4 degrees of freedom) increments of the mid price;</li>
 *   <li>self-exciting arrivals: a Hawkes process (exponential kernel, branching ratio 0.75), about 10 trades/s on
 *       average with clusters of 50–60/s, its base rate following an activity ramp that rises with volatility;</li>
 *   <li>heavy-tailed sizes: Pareto (tail index 1.6), rounded to the venue's size step; prices at the mid plus or
 *       minus half a spread, rounded to the venue's tick size.</li>
 * </ul>
 * Injected events, labelled: price spikes and drops of 2–4 % over 2–10 s that then revert by 30–70 % of the move
 * over 20–40 s (a real move's pullback; the label covers the move), and volume bursts of 20–40× (trades 5× as
 * frequent, each 4–8× larger) for 5–15 s. Labelled <em>near misses</em> that must not alert: 0.6 % moves (0.6 × the
 * default threshold, also partly reverting) and 4× volume (2× the trades, 2× their size). Events on one instrument
 * are at least {@link #EVENT_SPACING_MS} apart, so each has left every detector window before the next.
 */
public final class MicrostructureGenerator {
    /** An instrument the generator trades: price, tick, size step, the notional of a typical (median) trade. */
    record Venue(String symbol, double price, int priceDecimals, int sizeDecimals, double medianNotional) {}

    static final List<Venue> VENUES = List.of(
            new Venue("BTC-USDT", 95_000, 2, 5, 1_500),
            new Venue("ETH-USDT", 3_400, 2, 4, 1_200),
            new Venue("SOL-USDT", 240, 2, 3, 900),
            new Venue("XRP-USDT", 1.4, 4, 1, 700),
            new Venue("DOGE-USDT", 0.41, 5, 0, 600),
            new Venue("LTC-USDT", 100, 2, 3, 800));
    static final String EXCHANGE = "binance";
    static final long EVENT_SPACING_MS = 150_000;
    static final double YEAR_SECONDS = 365.0 * 24 * 3600;

    /** Trades (tick JSON lines in time order), the labelled events, the labelled near misses. */
    public record Output(List<String> lines, List<Evaluation.Label> labels, List<Evaluation.Label> nearMisses) {}

    private record Event(
            String kind, long start, long moveMs, double magnitude, double reversion, long holdMs, long revertMs) {
        /** The end of the labelled part: the move (not its reversion), or the burst. */
        long end() {
            return start + moveMs;
        }

        /** Cumulative log-price offset at {@code t}. */
        double offset(long t) {
            if (kind.startsWith("VOLUME") || t < start) {
                return 0;
            }
            double full = Math.log(kind.endsWith("DROP") ? 1 - magnitude : 1 + magnitude);
            if (t < start + moveMs) {
                return full * (t - start) / moveMs;
            }
            long revertFrom = start + moveMs + holdMs;
            if (t < revertFrom) {
                return full;
            }
            double f = Math.min(1.0, (double) (t - revertFrom) / revertMs);
            return full * (1 - reversion * f);
        }

        boolean volumeAt(long t) {
            return kind.startsWith("VOLUME") && t >= start && t < start + moveMs;
        }
    }

    private MicrostructureGenerator() {}

    /**
     * @param startTs   trade time of the first second
     * @param minutes   length of the stream
     * @param inject    whether to inject labelled events and near misses (a calm stream has none)
     * @param warmupMs  no event before this much trade time
     */
    public static Output generate(long seed, long startTs, int minutes, boolean inject, long warmupMs) {
        Random rng = new Random(seed);
        long endTs = startTs + minutes * 60_000L;
        List<List<Event>> events = new ArrayList<>();
        for (int i = 0; i < VENUES.size(); i++) {
            events.add(new ArrayList<>());
        }
        List<Evaluation.Label> labels = new ArrayList<>();
        List<Evaluation.Label> nearMisses = new ArrayList<>();
        if (inject) {
            // one event every EVENT_SPACING_MS / instruments, round robin over the instruments in a shuffled order
            String[] kinds = {
                "PRICE_SPIKE",
                "PRICE_DROP",
                "VOLUME_SPIKE",
                "NEAR_PRICE",
                "NEAR_VOLUME",
                "PRICE_SPIKE",
                "PRICE_DROP",
                "VOLUME_SPIKE"
            };
            long every = EVENT_SPACING_MS / VENUES.size();
            int n = 0;
            for (long t = startTs + warmupMs; t < endTs - 90_000; t += every, n++) {
                int v = n % VENUES.size();
                String kind = kinds[(n / VENUES.size() + v) % kinds.length];
                long start = t + rng.nextInt(5_000);
                Event e = switch (kind) {
                    case "PRICE_SPIKE", "PRICE_DROP" ->
                        new Event(
                                kind,
                                start,
                                2_000 + rng.nextInt(8_000),
                                0.02 + 0.02 * rng.nextDouble(),
                                0.3 + 0.4 * rng.nextDouble(),
                                5_000 + rng.nextInt(10_000),
                                20_000 + rng.nextInt(20_000));
                    case "NEAR_PRICE" ->
                        new Event(
                                rng.nextBoolean() ? "NEAR_PRICE_SPIKE" : "NEAR_PRICE_DROP",
                                start,
                                2_000 + rng.nextInt(8_000),
                                0.006,
                                0.3 + 0.4 * rng.nextDouble(),
                                5_000 + rng.nextInt(10_000),
                                20_000 + rng.nextInt(20_000));
                    case "VOLUME_SPIKE" ->
                        new Event(
                                "VOLUME_SPIKE",
                                start,
                                5_000 + rng.nextInt(10_000),
                                20 + 20 * rng.nextDouble(),
                                0,
                                0,
                                0);
                    default -> new Event("VOLUME_NEAR", start, 5_000 + rng.nextInt(10_000), 4, 0, 0, 0);
                };
                events.get(v).add(e);
                Venue venue = VENUES.get(v);
                boolean near = kind.startsWith("NEAR");
                AnomalyType type = e.kind().endsWith("DROP")
                        ? AnomalyType.PRICE_DROP
                        : e.kind().startsWith("VOLUME") ? AnomalyType.VOLUME_SPIKE : AnomalyType.PRICE_SPIKE;
                Evaluation.Label label =
                        new Evaluation.Label(EXCHANGE, venue.symbol(), type, e.start(), e.end(), e.magnitude());
                (near ? nearMisses : labels).add(label);
            }
        }
        List<long[]> order = new ArrayList<>(); // (ts, line index)
        List<String> lines = new ArrayList<>();
        for (int v = 0; v < VENUES.size(); v++) {
            simulate(VENUES.get(v), events.get(v), new Random(rng.nextLong()), startTs, endTs, lines, order);
        }
        order.sort(Comparator.<long[]>comparingLong(o -> o[0]).thenComparingLong(o -> o[1]));
        List<String> sorted = new ArrayList<>(lines.size());
        for (long[] o : order) {
            sorted.add(lines.get((int) o[1]));
        }
        return new Output(sorted, labels, nearMisses);
    }

    private static void simulate(
            Venue venue,
            List<Event> events,
            Random rng,
            long startTs,
            long endTs,
            List<String> lines,
            List<long[]> order) {
        double tick = Math.pow(10, -venue.priceDecimals());
        double sizeStep = Math.pow(10, -venue.sizeDecimals());
        String priceFmt = "%." + venue.priceDecimals() + "f";
        String sizeFmt = "%." + venue.sizeDecimals() + "f";
        // Pareto(1.6): median = xm * 2^(1/1.6)
        double tail = 1.6;
        double xm = venue.medianNotional() / venue.price() / Math.pow(2, 1 / tail);
        double phaseVol = rng.nextDouble() * 2 * Math.PI;
        double logMid = Math.log(venue.price());
        double halfSpread = Math.max(tick, venue.price() * 0.00002) / 2;
        // GARCH(1,1) per second: variance of the second's log return
        double a = 0.10, b = 0.86;
        double variance = Math.pow(0.8 / Math.sqrt(YEAR_SECONDS), 2);
        double secondReturn = 0;
        long second = startTs / 1000;
        // Hawkes: base rate mu(t) (activity ramp), excitation decaying at beta per second, jump alpha per trade
        double branching = 0.75, beta = 3.0, jump = branching * beta;
        double excitation = 0;
        long tradeId = 1_000_000_000L + rng.nextInt(1_000_000);
        double lastOffset = 0;
        double lastTradeT = startTs / 1000.0;
        double t = startTs / 1000.0; // seconds
        double end = endTs / 1000.0;
        while (true) {
            double annualVol = annualVol(t - startTs / 1000.0, phaseVol);
            double mu = 10 * (1 - branching) * (annualVol / 0.8);
            // Ogata thinning: the intensity only decays until the next trade, so its value now bounds it
            double bound = mu * 1.05 + excitation + 70;
            double dt = -Math.log(1 - rng.nextDouble()) / bound;
            excitation *= Math.exp(-beta * dt);
            t += dt;
            if (t >= end) {
                break;
            }
            long ts = (long) (t * 1000);
            double volumeFactor = 1, sizeFactor = 1;
            for (Event e : events) {
                if (e.volumeAt(ts)) {
                    volumeFactor = e.kind().equals("VOLUME_NEAR") ? 2 : 5;
                    sizeFactor = e.magnitude() / volumeFactor;
                }
            }
            // a burst adds trades at (factor - 1) times the mean rate; they do not excite more (no explosion)
            double extra = (volumeFactor - 1) * 10 * annualVol / 0.8;
            double u = rng.nextDouble() * bound;
            if (u > mu + excitation + extra) {
                continue; // thinned: no trade now
            }
            if (u <= mu + excitation) {
                excitation += jump;
            }
            // the second's volatility (GARCH on whole seconds of trade time)
            long s = ts / 1000;
            if (s != second) {
                double longRun = Math.pow(annualVol / Math.sqrt(YEAR_SECONDS), 2);
                for (long k = second; k < s; k++) {
                    variance = longRun * (1 - a - b) + a * secondReturn * secondReturn + b * variance;
                    secondReturn = 0;
                }
                second = s;
            }
            // the mid moves by a Student-t increment scaled to the time since the previous trade
            double r = Math.sqrt(variance * Math.min(5.0, t - lastTradeT)) * studentT4(rng);
            lastTradeT = t;
            secondReturn += r;
            double offset = 0;
            for (Event e : events) {
                offset += e.offset(ts);
            }
            logMid += r + offset - lastOffset;
            lastOffset = offset;
            boolean buy = rng.nextBoolean();
            double price = Math.exp(logMid) + (buy ? halfSpread : -halfSpread);
            price = Math.round(price / tick) * tick;
            double size = xm * Math.pow(1 - rng.nextDouble(), -1 / tail) * sizeFactor;
            size = Math.max(sizeStep, Math.round(size / sizeStep) * sizeStep);
            long recv = ts + 5 + rng.nextInt(40);
            order.add(new long[] {ts, lines.size()});
            lines.add(String.format(
                    Locale.ROOT,
                    "{\"v\":1,\"exchange\":\"%s\",\"symbol\":\"%s\",\"trade_id\":\"%d\","
                            + "\"price\":\"" + priceFmt + "\",\"size\":\"" + sizeFmt + "\",\"side\":\"%s\",\"ts\":%d,"
                            + "\"recv_ts\":%d}",
                    EXCHANGE,
                    venue.symbol(),
                    tradeId++,
                    price,
                    size,
                    buy ? "buy" : "sell",
                    ts,
                    recv));
        }
    }

    /** The long-run volatility level, drifting between about 40 % and 120 % annualised (period 40 min). */
    private static double annualVol(double secondsIn, double phase) {
        return 0.8 + 0.4 * Math.sin(2 * Math.PI * secondsIn / 2400 + phase);
    }

    /** A Student-t variate with 4 degrees of freedom, scaled to unit variance. */
    private static double studentT4(Random rng) {
        double chi2 = 0;
        for (int i = 0; i < 4; i++) {
            double g = rng.nextGaussian();
            chi2 += g * g;
        }
        return rng.nextGaussian() / Math.sqrt(chi2 / 4) / Math.sqrt(2);
    }

    /** The symbols this generator trades, as instruments. */
    static Set<String> instruments() {
        Set<String> out = new TreeSet<>();
        VENUES.forEach(v -> out.add(EXCHANGE + ':' + v.symbol()));
        return out;
    }
}
