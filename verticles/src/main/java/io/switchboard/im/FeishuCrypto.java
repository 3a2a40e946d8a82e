package io.switchboard.im;

import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;

/**
 * Feishu/Lark event crypto with the app's Encrypt Key: the body {@code {"encrypt": base64(iv + AES-256-CBC(event))}}
 * with key = SHA-256(encrypt_key) and PKCS#7 padding; and the request signature
 * {@code X-Lark-Signature = hex(sha256(timestamp + nonce + encrypt_key + raw body))}.
 */
final class FeishuCrypto {
  private final String encryptKey;
  private final byte[] aesKey;

  FeishuCrypto(String encryptKey) {
    this.encryptKey = encryptKey;
    this.aesKey = sha256(encryptKey.getBytes(StandardCharsets.UTF_8));
  }

  String decrypt(String encrypted) {
    byte[] raw;
    try {
      raw = Base64.getDecoder().decode(encrypted);
    } catch (IllegalArgumentException e) {
      throw CallbackRejected.malformed("the encrypted event is not Base64");
    }
    if (raw.length < 32 || raw.length % 16 != 0) {
      throw CallbackRejected.malformed("the encrypted event is not an IV and whole AES blocks");
    }
    try {
      Cipher cipher = Cipher.getInstance("AES/CBC/PKCS5Padding");
      cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(aesKey, "AES"), new IvParameterSpec(raw, 0, 16));
      return new String(cipher.doFinal(raw, 16, raw.length - 16), StandardCharsets.UTF_8);
    } catch (GeneralSecurityException e) {
      throw CallbackRejected.malformed("the event does not decrypt");
    }
  }

  /** What Feishu does, for tests that play Feishu: {@code iv} is 16 bytes. */
  String encrypt(String plain, byte[] iv) {
    try {
      Cipher cipher = Cipher.getInstance("AES/CBC/PKCS5Padding");
      cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(aesKey, "AES"), new IvParameterSpec(iv, 0, 16));
      byte[] body = cipher.doFinal(plain.getBytes(StandardCharsets.UTF_8));
      byte[] all = new byte[16 + body.length];
      System.arraycopy(iv, 0, all, 0, 16);
      System.arraycopy(body, 0, all, 16, body.length);
      return Base64.getEncoder().encodeToString(all);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  String signature(String timestamp, String nonce, byte[] body) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      digest.update((timestamp + nonce + encryptKey).getBytes(StandardCharsets.UTF_8));
      digest.update(body);
      return HexFormat.of().formatHex(digest.digest());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** @throws CallbackRejected unless the headers' signature signs this body */
  void verify(String timestamp, String nonce, String signature, byte[] body) {
    if (timestamp == null || nonce == null || signature == null) {
      throw CallbackRejected.badSignature(
        "X-Lark-Request-Timestamp, X-Lark-Request-Nonce or X-Lark-Signature is missing");
    }
    byte[] expected = signature(timestamp, nonce, body).getBytes(StandardCharsets.US_ASCII);
    if (!MessageDigest.isEqual(expected, signature.toLowerCase().getBytes(StandardCharsets.US_ASCII))) {
      throw CallbackRejected.badSignature("X-Lark-Signature does not match");
    }
  }

  private static byte[] sha256(byte[] input) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(input);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
