package io.tickstream.source;

import io.tickstream.metrics.JobMetrics;
import io.tickstream.model.BadRecord;
import io.tickstream.model.Tick;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Ticks go on; bad records go to {@link #BAD_RECORDS}, the way to the dead-letter topic. Counts both
 * ({@code records_in}, {@code bad_records}) in the job's metric group.
 */
public final class BadRecordSplitter extends ProcessFunction<ParseResult, Tick> {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<BadRecord> BAD_RECORDS =
            new OutputTag<>("bad-records", TypeInformation.of(BadRecord.class));

    private transient Counter recordsIn;
    private transient Counter badRecords;

    @Override
    public void open(OpenContext openContext) {
        recordsIn = JobMetrics.counter(getRuntimeContext().getMetricGroup(), JobMetrics.RECORDS_IN);
        badRecords = JobMetrics.counter(getRuntimeContext().getMetricGroup(), JobMetrics.BAD_RECORDS);
    }

    @Override
    public void processElement(ParseResult result, Context ctx, Collector<Tick> out) {
        recordsIn.inc();
        if (result.tick != null) {
            out.collect(result.tick);
        } else {
            badRecords.inc();
            ctx.output(BAD_RECORDS, result.bad);
        }
    }
}
