/**
 * How each demo job must end, checked on both sides: the control plane's record (Admin API) and
 * what PanDA was told. Pure: the demo gathers the facts, this says what is wrong with them.
 */
import type { DemoRole } from './workload.js';

/** PanDA's pilot error codes the demo expects (control/panda/error-codes.ts). */
export const EXPECTED_PILOT_CODE = { failing: 1305, long: 1144 } as const;

export interface OutcomeFacts {
  pandaId: number;
  role: DemoRole;
  label: string;
  /** Control-plane state word. */
  state: string | undefined;
  /** FailureCode name, e.g. KILLED_BY_PANDA; undefined when the job did not fail. */
  failureCode: string | undefined;
  returnValueJson: string;
  outputs: readonly { lfn: string; adler32: string }[];
  pandaStatus: string;
  pilotErrorCode: number | null;
  /** adler32 of each file in PanDA's output report, by LFN. */
  pandaChecksums: ReadonlyMap<string, string>;
}

interface Expected {
  state: string;
  /** PanDA records a killed job that ended failed as cancelled (srv adder_gen.py). */
  pandaStatus: string;
  failureCode?: string;
  outputs: number;
}

const EXPECTED: Record<DemoRole, Expected> = {
  train: { state: 'finished', pandaStatus: 'finished', outputs: 2 },
  function: { state: 'finished', pandaStatus: 'finished', outputs: 0 },
  failing: { state: 'failed', pandaStatus: 'failed', failureCode: 'NONZERO_EXIT', outputs: 0 },
  long: { state: 'failed', pandaStatus: 'cancelled', failureCode: 'KILLED_BY_PANDA', outputs: 0 },
};

function parsed(json: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** What is wrong with how this job ended; empty when it ended as the demo intends. */
export function outcomeProblems(f: OutcomeFacts): string[] {
  const where = `job ${f.pandaId} (${f.label})`;
  const want = EXPECTED[f.role];
  const problems: string[] = [];
  if (f.state !== want.state)
    problems.push(`${where}: ${f.state ?? 'unknown'} in the control plane, expected ${want.state}`);
  if (f.pandaStatus !== want.pandaStatus)
    problems.push(`${where}: ${f.pandaStatus} in PanDA, expected ${want.pandaStatus}`);
  if (want.failureCode !== undefined && f.failureCode !== want.failureCode)
    problems.push(`${where}: failure ${f.failureCode ?? 'none'}, expected ${want.failureCode}`);
  if (f.role === 'failing' || f.role === 'long') {
    const code = EXPECTED_PILOT_CODE[f.role];
    if (f.pilotErrorCode !== code)
      problems.push(
        `${where}: PanDA has pilot error ${f.pilotErrorCode ?? 'none'}, expected ${code}`,
      );
  }
  if (f.role === 'train' && parsed(f.returnValueJson)?.epochs !== 8)
    problems.push(`${where}: return value ${f.returnValueJson || 'none'}, expected 8 epochs`);
  if (f.role === 'function' && typeof parsed(f.returnValueJson)?.slope !== 'number')
    problems.push(`${where}: return value ${f.returnValueJson || 'none'}, expected a fitted line`);
  if (f.outputs.length !== want.outputs)
    problems.push(`${where}: ${f.outputs.length} outputs, expected ${want.outputs}`);
  for (const o of f.outputs) {
    const told = f.pandaChecksums.get(o.lfn);
    if (!/^[0-9a-f]{8}$/.test(o.adler32)) problems.push(`${where}: output ${o.lfn} has no adler32`);
    else if (told !== o.adler32)
      problems.push(
        `${where}: output ${o.lfn} has adler32 ${o.adler32} but PanDA was told ${told ?? 'nothing'}`,
      );
  }
  return problems;
}
