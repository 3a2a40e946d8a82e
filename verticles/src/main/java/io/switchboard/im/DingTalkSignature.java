package io.switchboard.im;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;

/**
 * DingTalk's robot callback check: headers {@code timestamp} (ms) and
 * {@code sign = Base64(HmacSHA256(app secret, timestamp + "\n" + app secret))}; a timestamp more than an hour
 * from now is refused, as DingTalk's documentation asks.
 */
final class DingTalkSignature {
  static final long MAX_SKEW_MILLIS = 3_600_000;

  private DingTalkSignature() {
  }

  static String sign(String timestamp, String appSecret) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(appSecret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return Base64.getEncoder().encodeToString(mac.doFinal((timestamp + "\n" + appSecret)
        .getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** @throws CallbackRejected when the timestamp is missing, stale or the sign does not match */
  static void verify(String timestamp, String sign, String appSecret, long nowMillis) {
    if (timestamp == null || sign == null) {
      throw CallbackRejected.badSignature("the timestamp or sign header is missing");
    }
    long sent;
    try {
      sent = Long.parseLong(timestamp);
    } catch (NumberFormatException e) {
      throw CallbackRejected.badSignature("the timestamp header is not a number");
    }
    if (Math.abs(nowMillis - sent) > MAX_SKEW_MILLIS) {
      throw CallbackRejected.badSignature("the timestamp is more than an hour away from now");
    }
    byte[] expected = sign(timestamp, appSecret).getBytes(StandardCharsets.US_ASCII);
    if (!MessageDigest.isEqual(expected, sign.getBytes(StandardCharsets.US_ASCII))) {
      throw CallbackRejected.badSignature("sign does not match");
    }
  }
}
