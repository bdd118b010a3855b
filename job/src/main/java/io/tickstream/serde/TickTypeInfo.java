package io.tickstream.serde;

import io.tickstream.model.Tick;

import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;

import java.lang.reflect.Type;
import java.util.Map;

/** Flink's type information for {@link Tick}: use {@link TickSerializer} wherever a tick is serialized. */
public final class TickTypeInfo extends TypeInformation<Tick> {
    private static final long serialVersionUID = 1L;

    public static final TickTypeInfo INSTANCE = new TickTypeInfo();

    /** Named on {@link Tick} with {@code @TypeInfo}, so type extraction finds it everywhere. */
    public static final class Factory extends TypeInfoFactory<Tick> {
        @Override
        public TypeInformation<Tick> createTypeInfo(Type t, Map<String, TypeInformation<?>> genericParameters) {
            return INSTANCE;
        }
    }

    @Override
    public boolean isBasicType() {
        return false;
    }

    @Override
    public boolean isTupleType() {
        return false;
    }

    @Override
    public int getArity() {
        return 1;
    }

    @Override
    public int getTotalFields() {
        return 1;
    }

    @Override
    public Class<Tick> getTypeClass() {
        return Tick.class;
    }

    @Override
    public boolean isKeyType() {
        return false;
    }

    @Override
    public TypeSerializer<Tick> createSerializer(SerializerConfig config) {
        return TickSerializer.INSTANCE;
    }

    @Override
    public String toString() {
        return "Tick";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TickTypeInfo;
    }

    @Override
    public int hashCode() {
        return TickTypeInfo.class.hashCode();
    }

    @Override
    public boolean canEqual(Object o) {
        return o instanceof TickTypeInfo;
    }
}
