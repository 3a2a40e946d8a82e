package io.switchboard.im;

/** A chat message a platform delivered to a bot, as each platform describes it. */
interface IncomingMessage {
  /** The platform's id of this message (or event): a re-sent callback carries the same one. */
  String id();

  /** Who wrote it, by the platform's user id; the key of the sender's memory. */
  String sender();
}
