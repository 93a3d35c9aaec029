/**
 * `pgc submit`: what `prun --noBuild` does, against the simulator. Pack the code directory into
 * `jobO.<uuid>.tar.gz` (or ship a given tarball as is), put it into the PanDA cache through
 * upload_cache_file, register local inputs as replicas, and define N jobs whose jobPars come from
 * the prun template, with distinct output LFNs per job.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { create as tarCreate } from 'tar';
import { isValidCacheName } from './cache.js';
import { LFN_PATTERN, SCOPE_PATTERN, SITE_PATTERN } from './job-definition.js';
import { buildJobPars, outputLfn } from './job-template.js';
import { SimClient, SubmitError } from './submit-client.js';

export { SubmitError } from './submit-client.js';

export type Payload = { kind: 'exec'; json: string } | { kind: 'cmd'; command: string };

export interface SubmitOptions {
  pandaUrl: string;
  site: string;
  payload: Payload;
  /** Exactly one of code (a directory to pack) and inTarball (an archive to ship as is). */
  code?: string;
  inTarball?: string;
  inputs: readonly string[];
  outputs: readonly string[];
  njobs: number;
  scope: string;
  token?: string;
  timeoutMs?: number;
}

export interface SubmitResult {
  taskId: number;
  pandaIds: number[];
  archive: string;
}

const EXEC_KEYS = new Set(['func_name', 'pre_script', 'args', 'kwargs']);

/** Checks an --exec string: a JSON object naming the function to call, as the agent expects. */
export function checkExecJson(text: string): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SubmitError(`--exec is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SubmitError(
      '--exec must be a JSON object like {"func_name": "main", "kwargs": {...}}',
    );
  }
  const obj = value as Record<string, unknown>;
  const unknown = Object.keys(obj).filter((k) => !EXEC_KEYS.has(k));
  if (unknown.length > 0) {
    throw new SubmitError(
      `--exec has unknown keys ${unknown.join(', ')} (allowed: ${[...EXEC_KEYS].join(', ')})`,
    );
  }
  if (typeof obj.func_name !== 'string' || obj.func_name === '')
    throw new SubmitError('--exec needs a "func_name" string');
  if (obj.pre_script !== undefined && typeof obj.pre_script !== 'string')
    throw new SubmitError('--exec "pre_script" must be a string');
  if (obj.args !== undefined && !Array.isArray(obj.args))
    throw new SubmitError('--exec "args" must be a list');
  if (
    obj.kwargs !== undefined &&
    (typeof obj.kwargs !== 'object' || obj.kwargs === null || Array.isArray(obj.kwargs))
  ) {
    throw new SubmitError('--exec "kwargs" must be an object');
  }
}

async function requireKind(path: string, kind: 'file' | 'directory', what: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new SubmitError(`${what} ${path} does not exist`);
  if (kind === 'file' ? !info.isFile() : !info.isDirectory())
    throw new SubmitError(`${what} ${path} is not a ${kind}`);
}

/** Packs regular files and directories of `dir` (no links, devices or FIFOs) into a .tar.gz. */
async function packDirectory(dir: string, archivePath: string): Promise<void> {
  const entries = (await readdir(dir)).sort();
  if (entries.length === 0) throw new SubmitError(`--code directory ${dir} is empty`);
  await tarCreate(
    {
      gzip: true,
      file: archivePath,
      cwd: dir,
      portable: true,
      filter: (_path, entry) =>
        'isFile' in entry
          ? entry.isFile() || entry.isDirectory()
          : entry.type === 'File' || entry.type === 'Directory',
    },
    entries,
  );
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Uploads the sandbox; an identical file already in the cache is reused (prun's dedup). */
async function uploadSandbox(client: SimClient, name: string, data: Buffer): Promise<void> {
  const reply = await client.uploadCacheFile(name, data);
  if (reply.success) return;
  if (reply.message.startsWith('ERROR: cannot overwrite file')) {
    const existing = await client.fetchCacheFile(name);
    if (existing !== undefined && sha256(existing) === sha256(data)) return;
    throw new SubmitError(`the PanDA cache already holds a different ${name}; rename your tarball`);
  }
  throw new SubmitError(`upload of ${name} refused: ${reply.message}`);
}

function checkNames(o: SubmitOptions): void {
  if (!SITE_PATTERN.test(o.site))
    throw new SubmitError(`--site ${JSON.stringify(o.site)} is not a PanDA queue name`);
  if (!SCOPE_PATTERN.test(o.scope))
    throw new SubmitError(`--scope ${JSON.stringify(o.scope)} is not a valid scope`);
  const inputNames = o.inputs.map((p) => basename(p));
  for (const name of [...inputNames, ...o.outputs]) {
    if (!LFN_PATTERN.test(name))
      throw new SubmitError(`file name ${JSON.stringify(name)} cannot be an LFN`);
  }
  for (const list of [inputNames, [...o.outputs]]) {
    const dup = list.find((n, i) => list.indexOf(n) !== i);
    if (dup !== undefined) throw new SubmitError(`${dup} is listed twice`);
  }
}

export async function submit(o: SubmitOptions): Promise<SubmitResult> {
  if (o.payload.kind === 'exec') checkExecJson(o.payload.json);
  checkNames(o);
  if (o.code !== undefined) await requireKind(o.code, 'directory', '--code directory');
  if (o.inTarball !== undefined) await requireKind(o.inTarball, 'file', '--in-tarball');
  for (const input of o.inputs) await requireKind(input, 'file', 'input file');
  let origin: string;
  try {
    origin = new URL(o.pandaUrl).origin;
  } catch {
    throw new SubmitError(`--panda-url ${JSON.stringify(o.pandaUrl)} is not a URL`);
  }
  const client = new SimClient({
    baseUrl: origin,
    token: o.token,
    timeoutMs: o.timeoutMs ?? 120_000,
  });

  const work = await mkdtemp(join(tmpdir(), 'pgc-submit-'));
  try {
    let archive: string;
    let data: Buffer;
    if (o.code !== undefined) {
      archive = `jobO.${randomUUID()}.tar.gz`;
      await packDirectory(o.code, join(work, archive));
      data = await readFile(join(work, archive));
    } else {
      archive = basename(o.inTarball as string);
      if (!isValidCacheName(archive))
        throw new SubmitError(`--in-tarball name ${archive} is not a valid cache file name`);
      data = await readFile(o.inTarball as string);
    }
    await uploadSandbox(client, archive, data);

    const inputs: { scope: string; lfn: string }[] = [];
    for (const path of o.inputs) {
      await client.registerInput(o.scope, basename(path), await readFile(path));
      inputs.push({ scope: o.scope, lfn: basename(path) });
    }

    const stem = `${o.scope}.${randomUUID().slice(0, 8)}`;
    const exec = o.payload.kind === 'exec' ? o.payload.json : o.payload.command;
    const jobs = Array.from({ length: o.njobs }, (_, i) => {
      const outputs = o.outputs.map((name) => [name, outputLfn(stem, i + 1, name)] as const);
      return {
        site: o.site,
        prodSourceLabel: 'user',
        jobPars: buildJobPars({
          sourceUrl: origin,
          archive,
          outputs,
          inputs: inputs.map((f) => f.lfn),
          exec,
        }),
        inputs,
        outputs: outputs.map(([, lfn]) => ({ lfn, scope: o.scope, dataset: `${stem}/` })),
        log: { lfn: `${stem}.log._${String(i + 1).padStart(6, '0')}.log.tgz`, scope: o.scope },
      };
    });
    const created = await client.createJobs(jobs);
    return { ...created, archive };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
