/**
 * Summaries of V8 CPU profiles (.cpuprofile, as `node --cpu-prof` writes them and the inspector's
 * Profiler.stop returns them): CPU used versus wall time, and the functions and files with the
 * most self time, optionally only within a window of the monotonic clock (the profile's
 * timestamps are µs of CLOCK_MONOTONIC, the clock of process.hrtime), so that start-up and
 * shutdown do not drown the measured round.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A window of the monotonic clock, in µs (monotonicMicros()). */
export interface Window {
  fromUs: number;
  toUs: number;
}

export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export interface ProfileSummary {
  name: string;
  wallMs: number;
  cpuMs: number;
  gcMs: number;
  topFunctions: Array<{ what: string; ms: number }>;
  topFiles: Array<{ what: string; ms: number }>;
}

const ROOT = join(import.meta.dirname, '..', '..');

/** A short name for where code lives: a package, a node built-in, or a path in this repo. */
function placeOf(url: string): string {
  if (url === '') return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return pkg[1] as string;
  if (path.startsWith('node:')) return path;
  return path.startsWith(ROOT) ? path.slice(ROOT.length + 1) : path;
}

export function summarise(
  name: string,
  profile: CpuProfile,
  window?: Window,
  top = 8,
): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  let from = profile.startTime;
  let to = profile.endTime;
  // A window outside the profile (another clock, or the process ended early) is ignored.
  if (window !== undefined && window.fromUs < profile.endTime && window.toUs > profile.startTime) {
    from = Math.max(from, window.fromUs);
    to = Math.min(to, window.toUs);
  }
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  let cpuUs = 0;
  let gcUs = 0;
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    // A sample's delta is the time since the previous one: charge it to this sample's frame.
    const us = profile.timeDeltas[i] ?? 0;
    if (t < from || t > to || us <= 0) return;
    const frame = byId.get(id);
    if (frame === undefined || frame.functionName === '(idle)') return;
    cpuUs += us;
    if (frame.functionName === '(garbage collector)') gcUs += us;
    const place = placeOf(frame.url);
    const fn = `${frame.functionName || '(anonymous)'}${frame.url ? ` ${place}:${frame.lineNumber + 1}` : ''}`;
    fns.set(fn, (fns.get(fn) ?? 0) + us);
    files.set(place, (files.get(place) ?? 0) + us);
  });
  const topOf = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([what, us]) => ({ what, ms: us / 1000 }));
  return {
    name,
    wallMs: (to - from) / 1000,
    cpuMs: cpuUs / 1000,
    gcMs: gcUs / 1000,
    topFunctions: topOf(fns),
    topFiles: topOf(files),
  };
}

/**
 * The .cpuprofile files in `dir` (`CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile`; thread 0 is
 * the main thread, others are worker threads).
 */
export function profilesIn(
  dir: string,
): Array<{ pid: number; thread: number; profile: CpuProfile }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => ({
      pid: Number(f.split('.')[3]),
      thread: Number(f.split('.')[4]),
      profile: JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile,
    }));
}

/** Profiles this process (the simulator runs in it) while `fn` runs. */
export async function profileSelf<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    const value = await fn();
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
    return { value, profile };
  } finally {
    session.disconnect();
  }
}

/** Markdown lines for the report's notes: a table of CPU per process, then the top entries. */
export function profileNotes(summaries: readonly ProfileSummary[], perJobOf?: number): string[] {
  const ms = (x: number): string => x.toFixed(0);
  const lines = [
    `| process | CPU ms | wall ms | CPU/wall | GC ms |${perJobOf ? ' CPU ms/job |' : ''}`,
    `| --- | --- | --- | --- | --- |${perJobOf ? ' --- |' : ''}`,
    ...summaries.map(
      (s) =>
        `| ${s.name} | ${ms(s.cpuMs)} | ${ms(s.wallMs)} | ${(s.cpuMs / s.wallMs).toFixed(2)} | ${ms(s.gcMs)} |${perJobOf ? ` ${(s.cpuMs / perJobOf).toFixed(2)} |` : ''}`,
    ),
    '',
  ];
  for (const s of summaries) {
    lines.push(
      `- ${s.name}, top self time: ${s.topFunctions.map((f) => `\`${f.what}\` ${ms(f.ms)} ms`).join(', ')}`,
      `  - by file/package: ${s.topFiles.map((f) => `${f.what} ${ms(f.ms)} ms`).join(', ')}`,
    );
  }
  return lines;
}
