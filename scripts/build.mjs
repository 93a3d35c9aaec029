#!/usr/bin/env node
// Compiles the shipped sources (cli, shared, agent, control, sim) into dist/ for `npm pack`.
// A checkout never needs this: bin/pgc.js runs the TypeScript sources directly.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
console.log('built dist/');
