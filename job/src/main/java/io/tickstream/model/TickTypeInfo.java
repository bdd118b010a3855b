package io.tickstream.model;

import io.tickstream.state.SerializerTypeInfo;
import java.lang.reflect.Type;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;

/** Flink's type information for {@link Tick}: use {@link TickSerializer} wherever a tick is serialized. */
public final class TickTypeInfo extends SerializerTypeInfo<Tick> {
    private static final long serialVersionUID = 1L;

    public static final TickTypeInfo INSTANCE = new TickTypeInfo();

    private TickTypeInfo() {
        super(Tick.class, new TickSerializer());
    }

    /** Named on {@link Tick} with {@code @TypeInfo}, so type extraction finds it everywhere. */
    public static final class Factory extends TypeInfoFactory<Tick> {
        @Override
        public TypeInformation<Tick> createTypeInfo(Type t, Map<String, TypeInformation<?>> genericParameters) {
            return INSTANCE;
        }
    }
}
