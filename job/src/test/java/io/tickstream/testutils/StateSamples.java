package io.tickstream.testutils;

import io.tickstream.candles.CandleAccumulator;
import io.tickstream.candles.IntervalSampler;
import io.tickstream.detect.DivergenceQuotes;
import io.tickstream.detect.InstrumentDetectorState;
import io.tickstream.detect.PriceMoveDetector;
import io.tickstream.detect.ReturnZScoreDetector;
import io.tickstream.detect.VolumeSpikeDetector;
import io.tickstream.model.Side;
import io.tickstream.model.Tick;
import io.tickstream.sequence.TradeSequencer;
import java.math.BigDecimal;
import java.util.List;

/** A value of every state type with every field set (and fresh ones), for the serializer and upgrade tests. */
public final class StateSamples {
    private StateSamples() {}

    public static TradeSequencer.Progress progress() {
        TradeSequencer.Progress p = new TradeSequencer.Progress();
        p.nextSeq = 1_000_001;
        p.maxReleasedTs = 1732500000123L;
        p.held = 3;
        p.gapStart = new long[] {10, 20};
        p.gapEnd = new long[] {12, 25};
        p.gapWatermark = new long[] {1732499990000L, 1732499995000L};
        return p;
    }

    /** Two venues' last trades in an alerted episode (format 3: with their trade ids). */
    public static DivergenceQuotes quotes() {
        DivergenceQuotes s = quotesAsOfFormat2();
        s.tradeIds = new String[] {"3456789012", "a1b2-c3d4"};
        return s;
    }

    /** What release 0.1 wrote (format 2), as this release reads it: no trade ids yet. */
    public static DivergenceQuotes quotesAsOfFormat2() {
        DivergenceQuotes s = new DivergenceQuotes();
        s.exchanges = new String[] {"binance", "coinbase"};
        s.symbols = new String[] {"BTC-USDT", "BTC-USD"};
        s.priceTexts = new String[] {"67123.45", "67500.10"};
        s.prices = new double[] {67123.45, 67500.10};
        s.tradeTs = new long[] {1732500000123L, 1732500000456L};
        s.tradeIds = new String[2];
        s.episode = true;
        s.since = 1732499999000L;
        s.alerted = true;
        return s;
    }

    public static DivergenceQuotes emptyQuotes() {
        return new DivergenceQuotes();
    }

    public static TradeSequencer.Progress emptyProgress() {
        return new TradeSequencer.Progress();
    }

    public static CandleAccumulator candle() {
        CandleAccumulator a = new CandleAccumulator("kraken:BTC-USD");
        a.openTs = 1732500000001L;
        a.openSeq = 41;
        a.openId = "41";
        a.open = "67123.45";
        a.closeTs = 1732500059999L;
        a.closeSeq = -1;
        a.closeId = "a1b2-c3d4";
        a.close = "67130.00";
        a.highValue = 67140.5;
        a.high = "67140.50";
        a.lowValue = 67100.25;
        a.low = "67100.25";
        a.volume = new BigDecimal("123456789012345678901234.000123400");
        a.trades = 812;
        return a;
    }

    public static InstrumentDetectorState everyFieldSet() {
        InstrumentDetectorState s = new InstrumentDetectorState();
        s.priceMove = new PriceMoveDetector.State();
        s.priceMove.minima.slots = new long[] {17, 18, 20};
        s.priceMove.minima.values = new double[] {99.5, 99.75, 100.0};
        s.priceMove.maxima.slots = new long[] {20};
        s.priceMove.maxima.values = new double[] {101.25};
        s.priceMove.newestSlot = 20;
        s.priceMove.spikeActive = true;
        s.priceMove.lastSpikeAlertTs = 1732500000123L;
        s.priceMove.episode = 1;
        s.priceMove.episodeReference = 99.5;
        s.priceMove.episodeRetraced = true;
        s.returnZScore = new ReturnZScoreDetector.State();
        s.returnZScore.lastPrice = 100.25;
        s.returnZScore.lastPriceText = "100.25";
        s.returnZScore.mean = 1e-6;
        s.returnZScore.variance = 4e-9;
        s.returnZScore.returns = 812;
        s.returnZScore.lastAlertTs = 1732500001000L;
        s.volumeSpike = new VolumeSpikeDetector.State();
        s.volumeSpike.stepStart = 1732500000000L;
        s.volumeSpike.volume = new double[] {12.5, 0, 3.0, 1.5};
        s.volumeSpike.trades = new int[] {3, 0, 2, 1};
        s.volumeSpike.logSizes = new double[] {1.5, 0, 0.405, 0.405};
        s.volumeSpike.notional = new double[] {1250.0, 0, 300.0, 150.0};
        s.volumeSpike.episode = true;
        s.volumeSpike.lastAlertTs = 1732499990000L;
        s.volumeSpike.average = 1.25;
        s.volumeSpike.steps = 301;
        s.sample = new IntervalSampler.State();
        s.sample.interval = 17325000001L;
        // As read back from state: without the instrument's names.
        s.sample.last = new Tick(
                null,
                null,
                "a1b2-c3d4",
                -1,
                "100.25",
                100.25,
                "0.5",
                0.5,
                Side.SELL,
                1732500000123L,
                1732500000150L,
                null);
        s.sample.candle = candle();
        s.incidentId = "0f5e3c1a-8f7e-3b2d-9c41-5a6b7c8d9e0f";
        s.incidentLastTs = 1732500000123L;
        return s;
    }

    /**
     * {@link #everyFieldSet} as release 0.1 wrote it (detector state v3), read by this release: no price episode
     * and no incident yet, the steps' trade counts and sizes unknown (the ring starts again on the next trade).
     */
    public static InstrumentDetectorState everyFieldSetAsOfFormat3() {
        InstrumentDetectorState s = everyFieldSet();
        s.priceMove.episode = 0;
        s.priceMove.episodeReference = 0;
        s.priceMove.episodeRetraced = false;
        s.volumeSpike.trades = null;
        s.volumeSpike.logSizes = null;
        s.incidentId = null;
        s.incidentLastTs = Long.MIN_VALUE;
        return s;
    }

    public static InstrumentDetectorState fresh() {
        InstrumentDetectorState s = new InstrumentDetectorState();
        s.priceMove = new PriceMoveDetector.State();
        s.returnZScore = new ReturnZScoreDetector.State(); // no price yet: null text
        s.volumeSpike = new VolumeSpikeDetector.State(); // window not sized yet: null
        s.sample = new IntervalSampler.State(); // no interval pending
        return s;
    }

    public static List<Tick> ticks() {
        return List.of(
                new Tick(
                        "binance",
                        "BTC-USDT",
                        "3456789012",
                        3456789012L,
                        "67123.45",
                        67123.45,
                        "0.00120",
                        0.0012,
                        Side.BUY,
                        1732500000123L,
                        1732500000150L),
                new Tick(
                        "coinbase",
                        "ETH-USD",
                        "a1b2-c3d4",
                        Tick.NO_SEQUENCE,
                        "3301.7",
                        3301.7,
                        "12",
                        12,
                        Side.UNKNOWN,
                        1732500000999L,
                        1732500001020L));
    }
}
