#!/usr/bin/env node
// Writes docs/configuration.md from the configuration schemas (scripts/config-docs/ renders
// it, Biome's formatter pads its tables as `npm run lint` wants them). --check writes nothing and
// exits 1, naming the settings and lines that differ, when the committed file is stale.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const target = 'docs/configuration.md';
const check = process.argv.includes('--check');

const { register } = await import('tsx/esm/api');
register();
const { renderConfigurationDoc } = await import('./config-docs/render.ts');

const formatted = spawnSync(
  join(root, 'node_modules/.bin/biome'),
  ['format', `--stdin-file-path=${target}`],
  { cwd: root, input: renderConfigurationDoc(), encoding: 'utf8' },
);
if (formatted.status !== 0) {
  console.error(`biome could not format ${target}:\n${formatted.stderr}`);
  process.exit(1);
}
const fresh = formatted.stdout;

if (!check) {
  writeFileSync(join(root, target), fresh);
  console.log(`wrote ${target}`);
  process.exit(0);
}

let committed = '';
try {
  committed = readFileSync(join(root, target), 'utf8');
} catch {
  console.error(`${target} is missing. Run \`npm run docs:config\` and commit it.`);
  process.exit(1);
}
if (committed === fresh) {
  console.log(`${target} is in sync with the schemas`);
  process.exit(0);
}

// Table rows are keyed by their first cell (a setting, flag or variable), so a change reads as
// "changed nats.url" rather than as a diff of padded tables.
const rowsOf = (text) => {
  const rows = new Map();
  const headings = [];
  for (const line of text.split('\n')) {
    const heading = /^(#+)\s*(.*)$/.exec(line);
    if (heading) headings.splice(heading[1].length - 1, Infinity, heading[2].replace(/`/g, ''));
    const match = /^\|\s*`([^`]+)`\s*\|/.exec(line);
    if (match) rows.set(`${headings.slice(1).join(' > ')}: ${match[1]}`, line.replace(/\s+/g, ' '));
  }
  return rows;
};
const before = rowsOf(committed);
const after = rowsOf(fresh);
const problems = [];
for (const [key, line] of after) {
  if (!before.has(key)) problems.push(`  missing from ${target}: ${key}`);
  else if (before.get(key) !== line) problems.push(`  changed: ${key}\n    now: ${line}`);
}
for (const key of before.keys())
  if (!after.has(key)) problems.push(`  in ${target} but no longer in the schemas: ${key}`);
if (problems.length === 0) {
  const a = committed.split('\n');
  const b = fresh.split('\n');
  const i = a.findIndex((line, n) => line !== b[n]);
  const at = i === -1 ? Math.min(a.length, b.length) : i;
  problems.push(
    `  line ${at + 1}:\n    file:      ${a[at] ?? '(end of file)'}\n    generated: ${b[at] ?? '(end of file)'}`,
  );
}
console.error(
  `${target} is out of date with the configuration schemas:\n${problems.join('\n')}\n` +
    'Run `npm run docs:config` and commit docs/configuration.md.',
);
process.exit(1);
