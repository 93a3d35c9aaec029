/**
 * `npm run bench`: every scenario against its baseline, a table on the terminal, and
 * docs/BENCHMARKS.md (machine, date, commit, medians, ratios, notes).
 *
 *   npm run bench                        # full sizes, median of 3 runs, writes docs/BENCHMARKS.md
 *   npm run bench -- --only kills,logs   # some scenarios (their ids are in the table)
 *   npm run bench -- --smoke             # 1/20 of the sizes, one run: CI's check that it works
 *   npm run bench -- --out FILE          # write the report elsewhere (the smoke run writes none unless asked)
 *
 * Exits 1 when a scenario could not complete; a missed target is reported, not an error.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gitCommit, machineFacts } from './lib/machine.js';
import { markdownReport, type ScenarioOutcome, terminalTable } from './lib/report.js';
import { SCENARIOS } from './scenarios/index.js';

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
    runs: { type: 'string' },
  },
});

const smoke = values.smoke === true;
const scale = smoke ? 1 / 20 : 1;
const runs = values.runs !== undefined ? Number(values.runs) : smoke ? 1 : 3;
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`bench: --runs must be a positive integer, got ${values.runs}`);
  process.exit(2);
}
const only = values.only?.split(',').map((s) => s.trim());
const unknown = only?.filter((id) => !SCENARIOS.some((s) => s.id === id)) ?? [];
if (unknown.length > 0) {
  console.error(
    `bench: no scenario ${unknown.join(', ')}; there are ${SCENARIOS.map((s) => s.id).join(', ')}`,
  );
  process.exit(2);
}
const chosen = SCENARIOS.filter((s) => only === undefined || only.includes(s.id));
const out =
  values.out ?? (smoke ? undefined : join(import.meta.dirname, '..', 'docs', 'BENCHMARKS.md'));

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const outcomes: ScenarioOutcome[] = [];
for (const scenario of chosen) {
  log(`\n== ${scenario.title}${smoke ? ' (smoke)' : ''}`);
  const dir = mkdtempSync(join(tmpdir(), `pgc-bench-${scenario.id}-`));
  const t0 = performance.now();
  try {
    const result = await scenario.run({ scale, runs, smoke, dir, log: (l) => log(`  ${l}`) });
    outcomes.push({ scenario, result, seconds: (performance.now() - t0) / 1000 });
  } catch (err) {
    const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    log(`  FAILED: ${error}`);
    outcomes.push({
      scenario,
      error: error.split('\n')[0],
      seconds: (performance.now() - t0) / 1000,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`\n${terminalTable(outcomes, smoke)}`);
if (out !== undefined) {
  const report = markdownReport(
    {
      date: new Date().toISOString().slice(0, 10),
      commit: gitCommit(),
      machine: machineFacts(),
      command: `npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      runs,
      scale,
    },
    outcomes,
    smoke,
  );
  writeFileSync(out, report);
  // Formatted as lint wants it (tables padded), so a committed report passes CI's lint step;
  // biome formats only files inside the project, and only those get committed.
  const root = join(import.meta.dirname, '..');
  if (resolve(out).startsWith(`${root}/`))
    execFileSync(join(root, 'node_modules', '.bin', 'biome'), ['format', '--write', out], {
      stdio: 'ignore',
    });
  console.log(`\nwrote ${out}`);
}
const failed = outcomes.filter((o) => o.result === undefined);
if (failed.length > 0) {
  console.error(`bench: ${failed.map((o) => o.scenario.id).join(', ')} did not complete`);
  process.exit(1);
}
