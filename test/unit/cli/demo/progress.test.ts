import { describe, expect, it } from 'vitest';
import {
  columnOf,
  countProgress,
  lineHeader,
  ProgressDisplay,
  type ProgressEntry,
  renderLine,
  renderTable,
} from '../../../../cli/demo/progress.js';

const entry = (task: string, state: string | undefined, reported = false): ProgressEntry => ({
  task,
  column: columnOf(state),
  reported,
});

describe('demo progress', () => {
  it('maps control-plane states to columns, with jobs not yet acquired still in PanDA', () => {
    expect(columnOf(undefined)).toBe('in PanDA');
    expect(['dispatched', 'accepted', 'staging'].map(columnOf)).toEqual([
      'starting',
      'starting',
      'starting',
    ]);
    expect(columnOf('finishing')).toBe('running');
    expect(columnOf('cancelled')).toBe('cancelled');
  });

  it('counts per task and in total, reported jobs apart', () => {
    const counts = countProgress([
      entry('train', 'running'),
      entry('train', 'finished', true),
      entry('long', undefined),
    ]);
    expect(counts.byTask.get('train')?.get('running')).toBe(1);
    expect(counts.total.get('finished')).toBe(1);
    expect(counts.total.get('reported')).toBe(1);
    expect(counts.total.get('in PanDA')).toBe(1);
    const table = renderTable(counts, 3400);
    expect(table).toMatch(/^jobs after 3\.4 s\n/);
    expect(table).toMatch(/^all jobs +1 +0 +0 +1 +1 +0 +0 +1$/m);
  });

  it('puts each total of a line under its header', () => {
    const line = renderLine(countProgress([entry('a', 'failed', true)]), 12_345);
    const header = lineHeader();
    expect(line).toBe(
      'progress  12.3 s         0       0         0        0         0       1          0         1',
    );
    // Right-aligned: every number ends where its column name ends.
    for (const name of ['failed', 'reported']) {
      const end = header.indexOf(name) + name.length;
      expect(line[end - 1]).toBe('1');
    }
  });

  it('prints a line only when the counts change when not on a terminal', () => {
    const out: string[] = [];
    const display = new ProgressDisplay((t) => out.push(t), false);
    display.update([entry('a', 'queued')], 100);
    display.update([entry('a', 'queued')], 200);
    display.update([entry('a', 'running')], 300);
    display.note('killing job 1');
    display.update([entry('a', 'running')], 400);
    expect(out).toEqual([
      `${lineHeader()}\n`,
      expect.stringMatching(/^progress +0\.1 s /),
      expect.stringMatching(/^progress +0\.3 s /),
      'killing job 1\n',
    ]);
  });

  it('redraws the table in place on a terminal, notes above it', () => {
    const out: string[] = [];
    const display = new ProgressDisplay((t) => out.push(t), true);
    display.update([entry('a', 'queued')], 100);
    display.update([entry('a', 'queued')], 200);
    display.note('a note');
    const lines = out[0]?.split('\n').length ?? 0;
    expect(out[1]).toBe(`\x1b[${lines - 1}A\x1b[J`);
    expect(out[2]).toMatch(/^jobs after 0\.2 s/);
    expect(out[3]).toBe(`\x1b[${lines - 1}A\x1b[J`);
    expect(out[4]).toBe('a note\n');
  });
});
