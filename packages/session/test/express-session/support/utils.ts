// Ported from express-session 1.19.0 test/support/utils.js (MIT License, see ../session.test.ts).
import type { ServerResponse } from 'node:http';

export interface SetCookie {
  name: string;
  value: string | undefined;
  [attribute: string]: string | true | undefined;
}

export function parseSetCookie(header: string): SetCookie {
  let match: RegExpExecArray | null;
  const pairs: { name: string; value: string | undefined }[] = [];
  const pattern = /\s*([^=;]+)(?:=([^;]*);?|;|$)/g;

  // biome-ignore lint/suspicious/noAssignInExpressions: the upstream loop, kept as written
  while ((match = pattern.exec(header))) {
    pairs.push({ name: match[1] as string, value: match[2] });
  }

  const cookie = pairs.shift() as SetCookie;

  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i] as { name: string; value: string | undefined };
    cookie[pair.name.toLowerCase()] = pair.value || true;
  }

  return cookie;
}

export function writePatch(res: ServerResponse): void {
  const _end = res.end;
  const _write = res.write;
  let ended = false;

  res.end = function end(this: ServerResponse, ...args: unknown[]) {
    ended = true;
    return (_end as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['end'];

  res.write = function write(this: ServerResponse, ...args: unknown[]) {
    if (ended) {
      throw new Error('write after end');
    }

    return (_write as (...a: unknown[]) => boolean).apply(this, args);
  } as ServerResponse['write'];
}

/** The `after` package (0.8.2) the original suite uses: calls `callback` after `count` calls. */
export function after(
  count: number,
  callback: (err?: unknown, result?: unknown) => void,
): (err?: unknown, result?: unknown) => void {
  let bail = false;
  let remaining = count;
  let cb = callback;
  return function proxy(err?: unknown, result?: unknown) {
    if (remaining <= 0) {
      throw new Error('after called too many times');
    }
    --remaining;

    // after first error, rest are passed to err_cb
    if (err) {
      bail = true;
      cb(err);
      // future error callbacks will go to error handler
      cb = () => {};
    } else if (remaining === 0 && !bail) {
      cb(null, result);
    }
  };
}
