import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../shared/logger.js';

function capture(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  it('writes JSON lines with the component bound by a child logger', () => {
    const out = capture();
    const log = createLogger({ name: 'pgc-agent', destination: out.stream });
    log.child({ component: 'runner', pandaId: 42 }).info('payload started');
    expect(out.lines()[0]).toMatchObject({
      name: 'pgc-agent',
      component: 'runner',
      pandaId: 42,
      msg: 'payload started',
      level: 30,
    });
  });

  it('never writes tokens, passwords or authorization headers', () => {
    const out = capture();
    const log = createLogger({ name: 'pgc-control', destination: out.stream });
    log.info(
      {
        token: 'sekrit-1',
        panda: { token: 'sekrit-2' },
        headers: { authorization: 'Bearer sekrit-3' },
        nats: { password: 'sekrit-4' },
      },
      'config',
    );
    const text = JSON.stringify(out.lines());
    expect(text).not.toMatch(/sekrit/);
    expect(text).toContain('[redacted]');
  });
});
