/** `pgc submit`: checks the flags, then runs sim/submit.ts and prints the PandaIDs. */
import { type Payload, submit } from '../../sim/submit.js';
import { UsageError } from '../errors.js';
import type { CliIo } from '../program.js';

export interface SubmitFlags {
  pandaUrl?: string;
  exec?: string;
  cmd?: string;
  code?: string;
  inTarball?: string;
  inputs?: string;
  outputs?: string;
  site?: string;
  njobs: number;
  scope: string;
  token?: string;
  json?: boolean;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export async function runSubmit(flags: SubmitFlags, io: CliIo): Promise<void> {
  if ((flags.exec === undefined) === (flags.cmd === undefined)) {
    throw new UsageError('give exactly one of --exec <json> and --cmd <command>');
  }
  if (flags.site === undefined) throw new UsageError('--site <queue> is required');
  if ((flags.code === undefined) === (flags.inTarball === undefined)) {
    throw new UsageError('give exactly one of --code <dir> and --in-tarball <file>');
  }
  if (flags.pandaUrl === undefined) {
    throw new UsageError('no PanDA server: give --panda-url <url> or set PGC_PANDA_URL');
  }
  const payload: Payload =
    flags.exec !== undefined
      ? { kind: 'exec', json: flags.exec }
      : { kind: 'cmd', command: flags.cmd as string };
  const result = await submit({
    pandaUrl: flags.pandaUrl,
    site: flags.site,
    payload,
    code: flags.code,
    inTarball: flags.inTarball,
    inputs: list(flags.inputs),
    outputs: list(flags.outputs),
    njobs: flags.njobs,
    scope: flags.scope,
    token: flags.token,
  });
  if (flags.json)
    io.stdout(`${JSON.stringify({ taskId: result.taskId, pandaIds: result.pandaIds })}\n`);
  else io.stdout(result.pandaIds.map((id) => `${id}\n`).join(''));
}
