/**
 * Where the package lives and which version it is. Found by walking up from this module to the
 * package.json of panda-gc, so it works from the sources (tsx), from dist/ and from an installed
 * package alike (resolving assets relative to import.meta.url breaks between src and dist).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): { root: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'panda-gc') return { root: dir, version: pkg.version ?? '0.0.0' };
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`panda-gc package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

const found = findRoot();

/** Absolute path of the package root (the folder holding package.json). */
export const PACKAGE_ROOT: string = found.root;
export const PACKAGE_VERSION: string = found.version;

/** Absolute path of a file shipped with the package, e.g. `assetPath('agent/runner/bootstrap.py')`. */
export function assetPath(relative: string): string {
  return join(PACKAGE_ROOT, relative);
}
