package io.switchboard.im;

import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.InputSource;
import org.xml.sax.SAXException;
import org.xml.sax.helpers.DefaultHandler;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import java.io.IOException;
import java.io.StringReader;
import java.util.HashMap;
import java.util.Map;

/** WeCom's flat XML messages ({@code <xml><Tag><![CDATA[value]]></Tag>...</xml>}) read as a map, DTDs refused. */
final class WeComXml {
  private static final DocumentBuilderFactory FACTORY = factory();

  private WeComXml() {
  }

  private static DocumentBuilderFactory factory() {
    DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
    try {
      // no DTDs at all: no external entities, no entity expansion bombs
      factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      factory.setXIncludeAware(false);
      factory.setExpandEntityReferences(false);
    } catch (ParserConfigurationException e) {
      throw new IllegalStateException(e);
    }
    return factory;
  }

  /** The root element's child elements by name, each to its text. @throws CallbackRejected when not XML */
  static Map<String, String> fields(String xml) {
    Element root;
    try {
      DocumentBuilder builder = FACTORY.newDocumentBuilder();
      builder.setErrorHandler(new DefaultHandler()); // fatal errors throw; nothing printed to stderr
      root = builder.parse(new InputSource(new StringReader(xml))).getDocumentElement();
    } catch (ParserConfigurationException | SAXException | IOException e) {
      throw CallbackRejected.malformed("the body is not the XML WeCom sends");
    }
    Map<String, String> fields = new HashMap<>();
    for (Node child = root.getFirstChild(); child != null; child = child.getNextSibling()) {
      if (child.getNodeType() == Node.ELEMENT_NODE) {
        fields.put(child.getNodeName(), child.getTextContent());
      }
    }
    return fields;
  }
}
