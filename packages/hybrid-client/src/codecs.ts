/**
 * How a namespace turns values into what Redis stores and back.
 * @typeParam T the type of the values
 */
export interface Codec<T> {
  /**
   * `true` when values are bytes: `encode` returns a `Buffer` / `Uint8Array`, and `decode` gets
   * the stored bytes exactly (read with `getBuffer`). Otherwise values are text.
   * @default false
   */
  readonly binary?: boolean | undefined;
  /** The stored form of `value`: a string, or bytes for a `binary` codec. May throw. */
  encode(value: T): string | Uint8Array;
  /** The value of a stored form: a string, or a `Buffer` for a `binary` codec. May throw. */
  decode(raw: string | Buffer): T;
}

/** JSON text: `JSON.stringify` / `JSON.parse` (what JSON cannot hold is refused, not mangled). */
export const jsonCodec: Codec<unknown> = Object.freeze({
  encode(value: unknown): string {
    const text = JSON.stringify(value);
    // undefined, a function or a symbol: JSON has no text for them.
    if (text === undefined) throw new TypeError(`JSON cannot encode ${typeof value}`);
    return text;
  },
  decode(raw: string | Buffer): unknown {
    return JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  },
});

/** Bytes as they are: every byte value round-trips exactly (a `Uint8Array` is accepted too). */
export const bufferCodec: Codec<Buffer> = Object.freeze({
  binary: true,
  encode(value: Buffer): Uint8Array {
    if (!(value instanceof Uint8Array)) {
      throw new TypeError(`the buffer codec stores a Buffer or Uint8Array, got ${typeof value}`);
    }
    return value;
  },
  decode(raw: string | Buffer): Buffer {
    return typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  },
});

/** Strings as they are (well-formed UTF-16, as the client's own operations take them). */
export const textCodec: Codec<string> = Object.freeze({
  encode(value: string): string {
    if (typeof value !== 'string')
      throw new TypeError(`the text codec stores strings, got ${typeof value}`);
    return value;
  },
  decode(raw: string | Buffer): string {
    return typeof raw === 'string' ? raw : raw.toString('utf8');
  },
});

/** The built-in codecs by name. */
export const CODECS = Object.freeze({ json: jsonCodec, buffer: bufferCodec, text: textCodec });

/** A built-in codec's name. */
export type CodecName = keyof typeof CODECS;
