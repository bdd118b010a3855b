package io.tickstream.sink;

import io.tickstream.model.BadRecord;
import java.io.Serializable;
import org.apache.flink.streaming.api.datastream.DataStream;

/** Where one kind of row goes: adds its writer to the graph and gives back the rows it refused, for the dead letters. */
@FunctionalInterface
public interface RowSink<T> extends Serializable {
    /**
     * @param uid the writer's uid (and name)
     * @return the rows the destination refused for their content, as dead letters; null when it refuses none
     */
    DataStream<BadRecord> sink(DataStream<T> rows, String uid);
}
