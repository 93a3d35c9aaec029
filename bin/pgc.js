#!/usr/bin/env node
// The pgc entry point. In a checkout (the TypeScript sources are present) it runs them through
// tsx, so `npx pgc` works right after `npm ci` with no build step; in an installed package it
// runs the compiled dist/ (sources are not shipped).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const sources = new URL('../cli/main.ts', import.meta.url);
if (existsSync(fileURLToPath(sources))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import(new URL('../dist/cli/main.js', import.meta.url).href);
}
