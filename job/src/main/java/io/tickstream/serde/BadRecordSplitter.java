package io.tickstream.serde;

import io.tickstream.model.BadRecord;
import io.tickstream.model.Tick;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/** Ticks go on; bad records go to {@link #BAD_RECORDS}, the way to the dead-letter topic. */
public final class BadRecordSplitter extends ProcessFunction<ParseResult, Tick> {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<BadRecord> BAD_RECORDS =
            new OutputTag<>("bad-records", TypeInformation.of(BadRecord.class));

    @Override
    public void processElement(ParseResult result, Context ctx, Collector<Tick> out) {
        if (result.tick != null) {
            out.collect(result.tick);
        } else {
            ctx.output(BAD_RECORDS, result.bad);
        }
    }
}
