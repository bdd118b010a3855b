package io.tickstream.state;

import java.time.Duration;
import org.apache.flink.api.common.state.StateDescriptor;
import org.apache.flink.api.common.state.StateTtlConfig;

/** Per-instrument state expires when an instrument stays silent, so state stays bounded in time too. */
public final class StateTtl {
    private StateTtl() {}

    public static <D extends StateDescriptor<?, ?>> D expireAfter(D descriptor, Duration ttl) {
        descriptor.enableTimeToLive(StateTtlConfig.newBuilder(ttl)
                .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
                .build());
        return descriptor;
    }
}
