package io.switchboard.im;

/**
 * An image in a chat message that cannot go to the model: too large, not an image the model takes, or not fetched.
 * The message says why for the log (the call by host and path and the platform's code, never a token); {@link
 * #answer()} is what the sender is told in the chat instead of an answer.
 */
final class ImageUnavailable extends RuntimeException {
  enum Reason {
    TOO_LARGE("图片太大（每张最多 10 MB，一次最多 20 MB），请发送小一些的图片。\n"
      + "The image is too large (at most 10 MB each, 20 MB per message). Please send a smaller one."),
    TOO_MANY("一次最多发送 " + Bot.MAX_IMAGES + " 张图片，请分开发送。\n"
      + "Please send at most " + Bot.MAX_IMAGES + " images in one message."),
    NOT_AN_IMAGE("只能识别 JPEG、PNG、GIF 和 WebP 格式的图片。\n"
      + "Only JPEG, PNG, GIF and WebP images can be read."),
    NOT_FETCHED("抱歉，无法读取这张图片，请重新发送。\n"
      + "Sorry, I could not fetch that image. Please send it again.");

    private final String answer;

    Reason(String answer) {
      this.answer = answer;
    }

    /** What the sender is told in the chat. */
    String answer() {
      return answer;
    }
  }

  private final Reason reason;

  private ImageUnavailable(Reason reason, String message) {
    super(message, null, false, false);
    this.reason = reason;
  }

  static ImageUnavailable tooLarge(String why) {
    return new ImageUnavailable(Reason.TOO_LARGE, why);
  }

  static ImageUnavailable tooMany(int count) {
    return new ImageUnavailable(Reason.TOO_MANY, "the message has " + count + " images, more than " + Bot.MAX_IMAGES);
  }

  static ImageUnavailable notAnImage(String why) {
    return new ImageUnavailable(Reason.NOT_AN_IMAGE, why);
  }

  static ImageUnavailable notFetched(String why) {
    return new ImageUnavailable(Reason.NOT_FETCHED, why);
  }

  /** Any failure of a fetch as an image that could not be fetched (platform down, token refused, ...). */
  static ImageUnavailable of(Throwable failure) {
    if (failure instanceof ImageUnavailable unavailable) {
      return unavailable;
    }
    return notFetched(failure.getMessage() != null ? failure.getMessage() : failure.getClass().getSimpleName());
  }

  Reason reason() {
    return reason;
  }

  String answer() {
    return reason.answer;
  }
}
