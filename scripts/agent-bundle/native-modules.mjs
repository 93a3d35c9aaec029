// The node_modules an agent bundle ships: classic-level (LevelDB's native addon, kept out of the
// esbuild bundle because node-gyp-build finds its prebuild relative to the package's own
// directory) and the packages it requires at run time, each trimmed to what loads.
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';

/** Packages that stay outside the esbuild bundle and are copied as they are. */
export const EXTERNAL_PACKAGES = ['classic-level'];

// Listed as a dependency of classic-level but only holds C headers for compiling the addon,
// which the bundle never does (it ships the prebuild).
const BUILD_ONLY = new Set(['napi-macros']);

/** The package directory `name` resolves to from `fromDir`, as Node's lookup would find it. */
function packageDir(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`package ${name} not found from ${fromDir}`);
  }
}

/** Every package the externals need at run time: name and directory, each once. */
function runtimeClosure(root) {
  const found = new Map();
  const visit = (name, fromDir) => {
    if (BUILD_ONLY.has(name)) return;
    const dir = packageDir(name, fromDir);
    if (found.has(dir)) return;
    found.set(dir, name);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir);
  };
  for (const name of EXTERNAL_PACKAGES) visit(name, root);
  return found;
}

/**
 * Whether a file of a package is needed at run time. Documentation, type declarations, tests,
 * the addon's C++ sources and the prebuilds of other platforms are not, nor the musl prebuild:
 * the bundled Node is linked against glibc, so it never runs where that one would be chosen.
 */
function keep(path, platformDir) {
  const name = basename(path);
  if (/^licen[cs]e/i.test(name)) return true;
  if (/\.(md|ts|cc|cpp|h|gyp)$/.test(name) || /\.musl\.node$/.test(name)) return false;
  if (name === 'node_modules') return false;
  if (['test', 'types', 'deps', 'src', '.github'].includes(name)) return false;
  const parts = path.split(sep);
  const prebuilds = parts.indexOf('prebuilds');
  return (
    prebuilds === -1 || parts[prebuilds + 1] === undefined || parts[prebuilds + 1] === platformDir
  );
}

/**
 * Copies the closure into `<target>/node_modules`, flat (no two versions of one package are
 * needed today; a second would be an error here rather than a silent overwrite).
 * Returns the package names copied.
 */
export function copyNativeModules(root, target, platformDir) {
  const copied = [];
  for (const [dir, name] of runtimeClosure(root)) {
    const dest = join(target, 'node_modules', name);
    if (existsSync(dest))
      throw new Error(`two versions of ${name} are needed; bundle cannot flatten them`);
    cpSync(dir, dest, { recursive: true, filter: (src) => keep(relative(dir, src), platformDir) });
    copied.push(name);
  }
  const prebuild = join(target, 'node_modules/classic-level/prebuilds', platformDir);
  if (!existsSync(prebuild))
    throw new Error(
      `classic-level has no prebuild for ${platformDir}: the bundle cannot open LevelDB`,
    );
  return copied;
}
