import { describe, expect, it, vi } from 'vitest';
import { adaptLogger } from './logger.js';

describe('adaptLogger', () => {
  it('a function gets (msg, fields) with the level added', () => {
    const fn = vi.fn();
    adaptLogger(fn)('warn', 'm', { reason: 'r' });
    expect(fn).toHaveBeenCalledWith('m', { level: 'warn', reason: 'r' });
  });

  it('pino is called (fields, msg)', () => {
    const pino = {
      levels: { values: {} },
      child: () => pino,
      info: vi.fn(),
      warn: vi.fn(),
      error: vi.fn(),
    };
    adaptLogger(pino)('info', 'm', { reason: 'r' });
    expect(pino.info).toHaveBeenCalledWith({ reason: 'r' }, 'm');
  });

  it('console-like loggers are called (msg, fields)', () => {
    const con = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    adaptLogger(con)('error', 'm', { reason: 'r' });
    expect(con.error).toHaveBeenCalledWith('m', { reason: 'r' });
  });

  it('false is silent; the default is console', () => {
    expect(() => adaptLogger(false)('warn', 'm', {})).not.toThrow();
    const spy = vi.spyOn(console, 'warn').mockImplementation(() => {});
    adaptLogger(undefined)('warn', 'hello', { a: 1 });
    expect(spy).toHaveBeenCalledWith('hello', { a: 1 });
    spy.mockRestore();
  });
});
