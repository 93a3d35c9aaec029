/**
 * Reads V8 `.cpuprofile` files (node --cpu-prof, passed to processes the harness starts through
 * PGC_NODE_ARGS) and names the functions with the most self time, for the scale scenarios' notes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface SelfTime {
  what: string;
  ms: number;
  share: number;
}

const ROOT = join(import.meta.dirname, '..', '..');

function label(frame: ProfileNode['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  if (frame.url === '') return name;
  let where = frame.url.replace(/^file:\/\//, '');
  where = where.includes('/node_modules/')
    ? where.slice(where.lastIndexOf('/node_modules/') + 14)
    : relative(ROOT, where);
  return `${name} ${where}:${frame.lineNumber + 1}`;
}

/** The `top` functions by self time over every profile in `dir` (idle excluded from shares). */
export function topSelfTime(dir: string, top = 8): { busyMs: number; rows: SelfTime[] } {
  const byLabel = new Map<string, number>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const samples = profile.samples?.length ?? 0;
    if (samples === 0) continue;
    const msPerSample = (profile.endTime - profile.startTime) / 1000 / samples;
    for (const node of profile.nodes) {
      const key = label(node.callFrame);
      byLabel.set(key, (byLabel.get(key) ?? 0) + (node.hitCount ?? 0) * msPerSample);
    }
  }
  const busy = [...byLabel.entries()].filter(([what]) => what !== '(idle)');
  const busyMs = busy.reduce((sum, [, ms]) => sum + ms, 0);
  const rows = busy
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([what, ms]) => ({ what, ms, share: busyMs > 0 ? ms / busyMs : 0 }));
  return { busyMs, rows };
}

/** One line per function: "12.3 % of busy CPU: foo control/x.ts:10". */
export function formatSelfTime(rows: readonly SelfTime[]): string[] {
  return rows.map((r) => `${(r.share * 100).toFixed(1)} % ${r.what}`);
}
