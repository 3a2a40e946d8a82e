package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.util.Objects;

/**
 * Makes (channel, externalId) the same person as (toChannel, toExternalId), within one tenant; the reply
 * is the person id both now map to. The linked sender's own earlier memory stays under its old person id.
 */
public record IdentityLink(String tenant, String channel, String externalId, String toChannel, String toExternalId) {
  public static final RecordCodec<IdentityLink> CODEC =
    new RecordCodec<>(IdentityLink.class, IdentityLink::write, IdentityLink::read);

  public IdentityLink {
    Objects.requireNonNull(tenant, "tenant");
    Identities.checkChannel(channel);
    Identities.checkExternalId(externalId);
    Identities.checkChannel(toChannel);
    Identities.checkExternalId(toExternalId);
  }

  private static void write(Buffer buffer, IdentityLink l) {
    Wire.writeString(buffer, l.tenant);
    Wire.writeString(buffer, l.channel);
    Wire.writeString(buffer, l.externalId);
    Wire.writeString(buffer, l.toChannel);
    Wire.writeString(buffer, l.toExternalId);
  }

  private static IdentityLink read(Wire.Reader in) {
    return new IdentityLink(in.readString(), in.readString(), in.readString(), in.readString(), in.readString());
  }
}
