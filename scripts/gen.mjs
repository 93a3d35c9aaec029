#!/usr/bin/env node
// Generates shared/gen/ from proto/ with the npm protoc binary (no system package needed).
// --check regenerates into a temporary folder and fails when any byte differs from shared/gen/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const committed = join(root, 'shared/gen');
const check = process.argv.includes('--check');
const outDir = check ? mkdtempSync(join(tmpdir(), 'pgc-gen-')) : committed;

const options = [
  'outputServices=grpc-js',
  'esModuleInterop=true',
  'env=node',
  'useOptionals=messages',
  'importSuffix=.js',
  'oneof=unions',
  'removeEnumPrefix=true',
  'forceLong=number',
].join(',');

function listFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out.sort();
}

const protos = listFiles(join(root, 'proto')).filter((f) => f.endsWith('.proto'));
if (!check) {
  rmSync(committed, { recursive: true, force: true });
  mkdirSync(committed, { recursive: true });
}
execFileSync(
  process.execPath,
  [
    join(root, 'node_modules/protoc/protoc.cjs'),
    `--plugin=protoc-gen-ts_proto=${join(root, 'node_modules/.bin/protoc-gen-ts_proto')}`,
    `-I${join(root, 'proto')}`,
    `--ts_proto_out=${outDir}`,
    `--ts_proto_opt=${options}`,
    ...protos.map((p) => relative(join(root, 'proto'), p)),
  ],
  { cwd: join(root, 'proto'), stdio: 'inherit' },
);

if (check) {
  const rel = (dir) => listFiles(dir).map((f) => relative(dir, f));
  const fresh = rel(outDir);
  let existing = [];
  try {
    existing = rel(committed);
  } catch {}
  const problems = [];
  for (const f of new Set([...fresh, ...existing])) {
    if (!fresh.includes(f)) problems.push(`shared/gen/${f} is not generated from proto/ any more`);
    else if (!existing.includes(f)) problems.push(`shared/gen/${f} is missing`);
    else if (!readFileSync(join(outDir, f)).equals(readFileSync(join(committed, f))))
      problems.push(`shared/gen/${f} differs from what proto/ generates`);
  }
  rmSync(outDir, { recursive: true, force: true });
  if (problems.length > 0) {
    console.error(`${problems.join('\n')}\nRun \`npm run gen\` and commit shared/gen/.`);
    process.exit(1);
  }
  console.log(`shared/gen is in sync with proto/ (${fresh.length} files)`);
}
