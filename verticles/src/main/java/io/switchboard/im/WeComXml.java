package io.switchboard.im;

import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;
import java.io.StringReader;
import java.util.HashMap;
import java.util.Map;

/**
 * WeCom's flat XML messages ({@code <xml><Tag><![CDATA[value]]></Tag>...</xml>}) read as a map. Read with a pull
 * parser and no tree: size and nesting are bounded before anything is kept, and DTDs are refused, so neither a
 * deep document (stack overflow) nor an entity bomb can hurt the node.
 */
final class WeComXml {
  /** A WeCom text message is at most 2,048 bytes of text; its encrypted envelope a few KB. */
  static final int MAX_CHARS = 64 * 1024;
  /** {@code <xml>} and its fields; a few events nest one level more. */
  static final int MAX_DEPTH = 4;
  private static final XMLInputFactory FACTORY = factory();

  private WeComXml() {
  }

  private static XMLInputFactory factory() {
    XMLInputFactory factory = XMLInputFactory.newFactory();
    // no DTDs at all: no external entities, no entity expansion bombs
    factory.setProperty(XMLInputFactory.SUPPORT_DTD, false);
    factory.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
    factory.setProperty(XMLInputFactory.IS_REPLACING_ENTITY_REFERENCES, false);
    factory.setProperty(XMLInputFactory.IS_COALESCING, true);
    return factory;
  }

  /** The root element's child elements by name, each to its text. @throws CallbackRejected when not WeCom's XML */
  static Map<String, String> fields(String xml) {
    if (xml.length() > MAX_CHARS) {
      throw CallbackRejected.malformed("the XML body is larger than " + MAX_CHARS + " characters");
    }
    Map<String, String> fields = new HashMap<>();
    XMLStreamReader reader = null;
    try {
      reader = FACTORY.createXMLStreamReader(new StringReader(xml));
      int depth = 0;
      String field = null;
      StringBuilder text = new StringBuilder();
      while (reader.hasNext()) {
        switch (reader.next()) {
          case XMLStreamConstants.DTD -> throw CallbackRejected.malformed("the XML body has a DTD");
          case XMLStreamConstants.START_ELEMENT -> {
            if (++depth > MAX_DEPTH) {
              throw CallbackRejected.malformed("the XML body is nested deeper than " + MAX_DEPTH + " levels");
            }
            if (depth == 2) {
              field = reader.getLocalName();
              text.setLength(0);
            }
          }
          case XMLStreamConstants.CHARACTERS, XMLStreamConstants.CDATA, XMLStreamConstants.SPACE -> {
            if (depth >= 2) {
              text.append(reader.getText());
            }
          }
          case XMLStreamConstants.END_ELEMENT -> {
            if (depth == 2 && field != null) {
              fields.put(field, text.toString());
              field = null;
            }
            depth--;
          }
          default -> {
          }
        }
      }
    } catch (XMLStreamException | RuntimeException e) {
      if (e instanceof CallbackRejected rejected) {
        throw rejected;
      }
      throw CallbackRejected.malformed("the body is not the XML WeCom sends");
    } finally {
      close(reader);
    }
    return fields;
  }

  private static void close(XMLStreamReader reader) {
    if (reader != null) {
      try {
        reader.close();
      } catch (XMLStreamException ignored) {
        // nothing held but the string
      }
    }
  }
}
