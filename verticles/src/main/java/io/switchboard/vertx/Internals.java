package io.switchboard.vertx;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.Field;

/**
 * Reflective access to a Vert.x (5.0.10) field the gateway trims for memory. A field that is not there (another
 * Vert.x) is logged once, with what that costs, and then simply not used: every caller treats null as "leave it".
 */
public final class Internals {
  private static final Logger LOG = LoggerFactory.getLogger(Internals.class);

  private Internals() {
  }

  /** The field, accessible; null (logged with {@code cost}) when Vert.x has no such field. */
  public static Field field(Class<?> type, String name, String cost) {
    if (type == null) {
      return null;
    }
    try {
      Field field = type.getDeclaredField(name);
      field.setAccessible(true);
      return field;
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.info("{}: {}.{} is not there ({})", cost, type.getSimpleName(), name, e.toString());
      return null;
    }
  }

  /** A class by name; null (logged with {@code cost}) when there is none. */
  public static Class<?> type(String name, String cost) {
    try {
      return Class.forName(name, false, Internals.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      LOG.info("{}: {} is not there ({})", cost, name, e.toString());
      return null;
    }
  }

  /** The field's value, or null when the field is missing or cannot be read. */
  public static Object get(Field field, Object target) {
    if (field == null || target == null) {
      return null;
    }
    try {
      return field.get(target);
    } catch (IllegalAccessException | RuntimeException e) {
      return null;
    }
  }

  /** Sets the field; false when it is missing or cannot be written. */
  public static boolean set(Field field, Object target, Object value) {
    if (field == null || target == null) {
      return false;
    }
    try {
      field.set(target, value);
      return true;
    } catch (IllegalAccessException | RuntimeException e) {
      return false;
    }
  }
}
