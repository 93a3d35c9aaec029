import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../shared/errors.js';
import { LogStream } from '../../../shared/gen/pgc/v1/events.js';
import { messageIds, natsNames, parseJobSubject } from '../../../shared/nats/subjects.js';

describe('natsNames', () => {
  const names = natsNames();

  it('builds the subjects, streams, consumers and buckets of DESIGN.md', () => {
    expect(names.jobEvents('bnl-gc-01', 123)).toBe('pgc.evt.bnl-gc-01.123');
    expect(names.eventsAll()).toBe('pgc.evt.>');
    expect(names.eventsOfEndpoint('ep1')).toBe('pgc.evt.ep1.>');
    expect(names.commands('ep1')).toBe('pgc.cmd.ep1');
    expect(names.jobLogs('ep1', 5)).toBe('pgc.log.ep1.5');
    expect(names.bucket('ep1')).toBe('pgc-obj-ep1');
    expect(names.commandConsumer('ep1')).toBe('agent-ep1');
    expect(names.agentInboxPrefix('ep1')).toBe('_INBOX_ep1');
    expect([names.eventsStream, names.commandsStream, names.logsStream]).toEqual([
      'PGC_EVT',
      'PGC_CMD',
      'PGC_LOG',
    ]);
  });

  it('uses a configured prefix everywhere', () => {
    const other = natsNames('atlas-gc');
    expect(other.jobEvents('ep', 1)).toBe('atlas-gc.evt.ep.1');
    expect(other.eventsStream).toBe('ATLAS_GC_EVT');
    expect(other.bucket('ep')).toBe('atlas-gc-obj-ep');
  });

  it('refuses ids that would change the subject structure', () => {
    expect(() => names.commands('ep.>')).toThrow(ValidationError);
    expect(() => names.jobEvents('ep', 0)).toThrow(ValidationError);
    expect(() => natsNames('a.b')).toThrow(ValidationError);
  });
});

describe('message ids', () => {
  it('are unique per attempt, sequence and stream', () => {
    const key = { pandaId: 1, attemptNr: 2 };
    const ids = new Set([
      messageIds.event(key, 1),
      messageIds.event(key, 2),
      messageIds.event({ pandaId: 1, attemptNr: 3 }, 1),
      messageIds.log(key, LogStream.STDOUT, 1),
      messageIds.log(key, LogStream.STDERR, 1),
    ]);
    expect(ids.size).toBe(5);
    expect(messageIds.event(key, 1)).toBe(messageIds.event({ ...key }, 1));
  });
});

describe('parseJobSubject', () => {
  const names = natsNames();
  it('reads the endpoint and job back from event and log subjects', () => {
    expect(parseJobSubject(names, 'pgc.evt.ep1.42')).toEqual({ endpointId: 'ep1', pandaId: 42 });
    expect(parseJobSubject(names, 'pgc.log.ep1.42')).toEqual({ endpointId: 'ep1', pandaId: 42 });
  });
  it('returns undefined for anything else', () => {
    for (const s of [
      'pgc.cmd.ep1',
      'pgc.evt.ep1',
      'other.evt.ep1.1',
      'pgc.evt.ep1.01',
      'pgc.evt.ep1.x',
      'pgc.evt.ep1.1.2',
    ]) {
      expect(parseJobSubject(names, s)).toBeUndefined();
    }
  });
});
