package io.switchboard.im;

import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;

/**
 * WeCom's callback crypto (企业微信 加解密方案):
 * {@code msg_signature = sha1(sort(token, timestamp, nonce, encrypt))};
 * AES-256-CBC with key = Base64(EncodingAESKey + "="), IV = the key's first 16 bytes, PKCS#7 padding to 32 bytes;
 * plaintext = 16 random bytes + 4-byte network-order length + message + receive id (the corp id).
 */
final class WeComCrypto {
  private static final int BLOCK = 32;

  private final String token;
  private final byte[] aesKey;
  private final String receiveId;

  /** @throws IllegalArgumentException when the EncodingAESKey is not 43 characters of Base64 for 32 bytes */
  WeComCrypto(String token, String encodingAesKey, String receiveId) {
    this.token = token;
    this.aesKey = aesKey(encodingAesKey);
    this.receiveId = receiveId;
  }

  static byte[] aesKey(String encodingAesKey) {
    if (encodingAesKey == null || encodingAesKey.length() != 43) {
      throw new IllegalArgumentException("must be 43 characters long");
    }
    byte[] key;
    try {
      key = Base64.getDecoder().decode(encodingAesKey + "=");
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("is not Base64");
    }
    if (key.length != 32) {
      throw new IllegalArgumentException("does not decode to a 32-byte AES key");
    }
    return key;
  }

  String signature(String timestamp, String nonce, String encrypted) {
    String[] parts = {token, timestamp, nonce, encrypted};
    Arrays.sort(parts);
    try {
      byte[] joined = String.join("", parts).getBytes(StandardCharsets.UTF_8);
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(joined));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** @throws CallbackRejected unless {@code signature} signs these values */
  void verify(String signature, String timestamp, String nonce, String encrypted) {
    if (signature == null || timestamp == null || nonce == null || encrypted == null) {
      throw CallbackRejected.badSignature("msg_signature, timestamp, nonce or the encrypted message is missing");
    }
    byte[] expected = signature(timestamp, nonce, encrypted).getBytes(StandardCharsets.US_ASCII);
    if (!MessageDigest.isEqual(expected, signature.toLowerCase().getBytes(StandardCharsets.US_ASCII))) {
      throw CallbackRejected.badSignature("msg_signature does not match");
    }
  }

  /** The message inside {@code encrypted}, checked to be addressed to this corp. */
  String decrypt(String encrypted) {
    byte[] cipherText;
    try {
      // a '+' that arrived unescaped in a query string reads as a space
      cipherText = Base64.getDecoder().decode(encrypted.replace(' ', '+'));
    } catch (IllegalArgumentException e) {
      throw CallbackRejected.malformed("the encrypted message is not Base64");
    }
    if (cipherText.length == 0 || cipherText.length % 16 != 0) {
      throw CallbackRejected.malformed("the encrypted message is not whole AES blocks");
    }
    byte[] plain;
    try {
      plain = cipher(Cipher.DECRYPT_MODE).doFinal(cipherText);
    } catch (GeneralSecurityException e) {
      throw CallbackRejected.malformed("the message does not decrypt");
    }
    int pad = plain[plain.length - 1] & 0xff;
    if (pad < 1 || pad > BLOCK || pad > plain.length) {
      throw CallbackRejected.malformed("the message does not decrypt (padding)");
    }
    for (int i = plain.length - pad; i < plain.length; i++) {
      if ((plain[i] & 0xff) != pad) {
        throw CallbackRejected.malformed("the message does not decrypt (padding)");
      }
    }
    int end = plain.length - pad;
    if (end < 20) {
      throw CallbackRejected.malformed("the decrypted message is too short");
    }
    int length = ByteBuffer.wrap(plain, 16, 4).getInt();
    if (length < 0 || 20 + length > end) {
      throw CallbackRejected.malformed("the decrypted message length is wrong");
    }
    String received = new String(plain, 20 + length, end - 20 - length, StandardCharsets.UTF_8);
    if (!received.equals(receiveId)) {
      throw CallbackRejected.badSignature("the message is addressed to another corp id");
    }
    return new String(plain, 20, length, StandardCharsets.UTF_8);
  }

  /** The other half, for passive replies and for tests that play WeCom: {@code random} is 16 bytes. */
  String encrypt(String message, byte[] random) {
    byte[] msg = message.getBytes(StandardCharsets.UTF_8);
    byte[] id = receiveId.getBytes(StandardCharsets.UTF_8);
    int length = 20 + msg.length + id.length;
    int pad = BLOCK - length % BLOCK;
    ByteBuffer plain = ByteBuffer.allocate(length + pad);
    plain.put(random, 0, 16).putInt(msg.length).put(msg).put(id);
    for (int i = 0; i < pad; i++) {
      plain.put((byte) pad);
    }
    try {
      return Base64.getEncoder().encodeToString(cipher(Cipher.ENCRYPT_MODE).doFinal(plain.array()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private Cipher cipher(int mode) throws GeneralSecurityException {
    Cipher cipher = Cipher.getInstance("AES/CBC/NoPadding");
    cipher.init(mode, new SecretKeySpec(aesKey, "AES"), new IvParameterSpec(aesKey, 0, 16));
    return cipher;
  }
}
