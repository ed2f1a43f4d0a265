/** What replaces a secret in every output. */
export const REDACTED = '***';

/**
 * Replaces the password of a URL (`redis://user:***@host`); a user-only userinfo is hidden whole.
 * The userinfo runs to the **last** `@`, the way URL parsers read it, and the text is not
 * required to be a valid URL: a password with an unencoded `#`, `/`, `?` or `@` (which makes the
 * URL invalid, or splits it elsewhere) is still hidden in the message that reports the URL.
 */
export function redactUrl(url: string): string {
  const at = url.lastIndexOf('@');
  if (at === -1) return url;
  const scheme = url.indexOf('://');
  const start = scheme !== -1 && scheme < at ? scheme + 3 : 0;
  const userinfo = url.slice(start, at);
  const colon = userinfo.indexOf(':');
  const shown = colon === -1 ? REDACTED : `${userinfo.slice(0, colon)}:${REDACTED}`;
  return `${url.slice(0, start)}${shown}${url.slice(at)}`;
}

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * Makes `JSON.stringify`, `String()` and `util.inspect` of `target` show `redacted()` instead of
 * the object itself (non-enumerable, so spreading the object does not copy them).
 */
export function hideSecrets<T extends object>(target: T, redacted: (value: T) => object): T {
  Object.defineProperties(target, {
    toJSON: { value: () => redacted(target) },
    toString: { value: () => JSON.stringify(redacted(target)) },
    [INSPECT]: {
      value: (_depth: number, options: object, inspect?: (v: unknown, o: object) => string) =>
        inspect ? inspect(redacted(target), options) : JSON.stringify(redacted(target)),
    },
  });
  return target;
}
