package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.util.Objects;

/**
 * Who a sender on a channel is: (tenant, channel, the sender's id there) → a person id, created on first
 * sight. The reply is the person id as a String. Two channels linked to one person share memory.
 */
public record IdentityQuery(String tenant, String channel, String externalId) {
  public static final RecordCodec<IdentityQuery> CODEC =
    new RecordCodec<>(IdentityQuery.class, IdentityQuery::write, IdentityQuery::read);

  public IdentityQuery {
    Objects.requireNonNull(tenant, "tenant");
    Identities.checkChannel(channel);
    Identities.checkExternalId(externalId);
  }

  private static void write(Buffer buffer, IdentityQuery q) {
    Wire.writeString(buffer, q.tenant);
    Wire.writeString(buffer, q.channel);
    Wire.writeString(buffer, q.externalId);
  }

  private static IdentityQuery read(Wire.Reader in) {
    return new IdentityQuery(in.readString(), in.readString(), in.readString());
  }
}
