package io.switchboard.bus;

import io.vertx.core.buffer.Buffer;

import java.util.List;
import java.util.Objects;

/** The public models a routing verticle serves, for {@code GET /v1/models}. */
public record ModelCatalog(List<Model> models) {
  public static final RecordCodec<ModelCatalog> CODEC =
    new RecordCodec<>(ModelCatalog.class, ModelCatalog::write, ModelCatalog::read);

  /** @param ownedBy who serves it, as a user should read it (e.g. "switchboard-simulator") */
  public record Model(String id, String ownedBy, long created) {
    public Model {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(ownedBy, "ownedBy");
    }
  }

  public ModelCatalog {
    models = List.copyOf(models);
  }

  private static void write(Buffer buffer, ModelCatalog c) {
    Wire.writeList(buffer, c.models, (b, m) -> {
      Wire.writeString(b, m.id);
      Wire.writeString(b, m.ownedBy);
      b.appendLong(m.created);
    });
  }

  private static ModelCatalog read(Wire.Reader in) {
    return new ModelCatalog(in.readList(r -> new Model(r.readString(), r.readString(), r.readLong())));
  }
}
