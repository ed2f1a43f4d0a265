/**
 * Turns messages into Redis payloads and back. `decode` receives the raw payload bytes; throwing
 * from it marks the message as malformed (counted and reported, never thrown into the reader).
 */
export interface Codec<T = unknown> {
  /** Encodes a message for `PUBLISH`. */
  encode(message: T): string | Buffer;
  /** Decodes a received payload. Throw to reject it as malformed. */
  decode(payload: Buffer): T;
}

/** JSON (UTF-8). The default codec. `undefined` cannot be encoded and is rejected. */
export const jsonCodec: Codec<unknown> = {
  encode(message: unknown): string {
    const text = JSON.stringify(message);
    if (text === undefined) throw new TypeError('message is not JSON-serializable');
    return text;
  },
  decode(payload: Buffer): unknown {
    return JSON.parse(payload.toString('utf8'));
  },
};

/** Plain UTF-8 strings, no parsing (never malformed). */
export const stringCodec: Codec<string> = {
  encode(message: string): string {
    if (typeof message !== 'string') throw new TypeError('message is not a string');
    return message;
  },
  decode(payload: Buffer): string {
    return payload.toString('utf8');
  },
};

/** Raw bytes: publishes strings or Buffers, delivers Buffers. */
export const bufferCodec: Codec<Buffer | string> = {
  encode(message: Buffer | string): Buffer | string {
    if (typeof message !== 'string' && !Buffer.isBuffer(message)) {
      throw new TypeError('message is not a string or a Buffer');
    }
    return message;
  },
  decode(payload: Buffer): Buffer {
    return payload;
  },
};
