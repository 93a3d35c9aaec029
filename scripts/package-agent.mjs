#!/usr/bin/env node
// Builds the self-contained agent bundle for sites that cannot (or would rather not) install
// Node: dist-agent/pgc-agent-<version>-linux-<arch>.tar.gz, which unpacks to
//
//   pgc-agent-<version>/
//     bin/pgc                      sh wrapper: the bundled node on the bundled code
//     runtime/bin/node             a copy of the Node that runs this script
//     dist/cli/main.js             the whole pgc CLI, one esbuild bundle
//     dist/agent/sandbox/extract-worker.js   the sandbox extraction worker (its own process)
//     agent/runner/*.pl, *.py      launcher, supervisor, Python bootstrap (read at run time)
//     node_modules/classic-level…  LevelDB's native addon and what it requires
//     package.json                 name and version: how the code finds its root and version
//
// The paths mirror the npm package (shared/package-info.ts walks up to package.json; the
// extraction worker is looked up at dist/agent/sandbox/), so the code needs no bundle mode.
//
// Usage: node scripts/package-agent.mjs [--out-dir <dir>]   (default dist-agent/)
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { create as createTar } from 'tar';
import { copyNativeModules, EXTERNAL_PACKAGES } from './agent-bundle/native-modules.mjs';

const root = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({ options: { 'out-dir': { type: 'string' } } });
const outDir = resolve(values['out-dir'] ?? join(root, 'dist-agent'));
const started = performance.now();

// The bundle carries this machine's Node and LevelDB prebuild: it runs where they run.
if (process.platform !== 'linux') {
  console.error(
    `package-agent builds a Linux bundle from Linux's Node; this is ${process.platform}`,
  );
  process.exit(1);
}
const platformDir = `linux-${process.arch}`;
const { name, version, license } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const base = `pgc-agent-${version}`;
const archive = join(outDir, `${base}-${platformDir}.tar.gz`);

mkdirSync(outDir, { recursive: true });
const stage = mkdtempSync(join(outDir, '.stage-'));
try {
  const top = join(stage, base);

  // Code. ESM like the sources (top-level await in cli/main.ts). Bundled CommonJS packages call
  // require() for Node built-ins and for the external classic-level, which ESM lacks: the banner
  // gives the bundle a real one, resolving from the bundle's own location.
  await build({
    entryPoints: {
      'cli/main': join(root, 'cli/main.ts'),
      'agent/sandbox/extract-worker': join(root, 'agent/sandbox/extract-worker.ts'),
    },
    outdir: join(top, 'dist'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    external: EXTERNAL_PACKAGES,
    banner: {
      js: "import { createRequire as pgcCreateRequire } from 'node:module'; const require = pgcCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });

  // Files the agent reads at run time, by path (assetPath in agent/runner/).
  const runner = join(top, 'agent/runner');
  mkdirSync(runner, { recursive: true });
  for (const file of readdirSync(join(root, 'agent/runner')).filter((f) => /\.(pl|py)$/.test(f)))
    copyFileSync(join(root, 'agent/runner', file), join(runner, file));

  copyNativeModules(root, top, platformDir);

  mkdirSync(join(top, 'runtime/bin'), { recursive: true });
  copyFileSync(process.execPath, join(top, 'runtime/bin/node'));
  chmodSync(join(top, 'runtime/bin/node'), 0o755);

  mkdirSync(join(top, 'bin'));
  copyFileSync(join(root, 'scripts/agent-bundle/pgc.sh'), join(top, 'bin/pgc'));
  chmodSync(join(top, 'bin/pgc'), 0o755);

  const manifest = {
    name,
    version,
    license,
    description: `pgc ${version} with its own Node ${process.version} (${platformDir}); run bin/pgc`,
    private: true,
    type: 'module',
  };
  writeFileSync(join(top, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  // The bundle must start before it is shipped: --version loads every module, the addon included.
  const reported = execFileSync(join(top, 'bin/pgc'), ['--version'], { encoding: 'utf8' }).trim();
  if (reported !== version)
    throw new Error(`the bundled pgc reports version ${JSON.stringify(reported)}, not ${version}`);

  const unpackedBytes = sizeOf(top);
  const partial = join(stage, 'archive.tar.gz');
  // portable: no owner names or ids of the build machine in the archive.
  await createTar({ gzip: true, portable: true, file: partial, cwd: stage }, [base]);
  renameSync(partial, archive);

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `built ${archive}: ${mib(statSync(archive).size)} (${mib(unpackedBytes)} unpacked) in ${seconds} s`,
  );
} finally {
  rmSync(stage, { recursive: true, force: true });
}

function sizeOf(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, entry) => sum + sizeOf(join(path, entry)), 0);
}

function mib(bytes) {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
