/** `pgc kill <id…> [--reason TEXT]`: an operator's kill; unknown or finished ids are a no-op. */
import { type AdminFlags, withAdmin } from '../admin/connection.js';
import { killOutcomeJson } from '../admin/shapes.js';
import { table } from '../admin/table.js';
import type { CliIo } from '../program.js';

export interface KillFlags extends AdminFlags {
  reason?: string;
}

export async function runKill(pandaIds: number[], flags: KillFlags, io: CliIo): Promise<void> {
  const { outcomes } = await withAdmin(flags, (a) =>
    a.kill({ pandaIds, reason: flags.reason ?? '' }),
  );
  const shaped = outcomes.map(killOutcomeJson);
  if (flags.json) {
    io.stdout(`${JSON.stringify({ outcomes: shaped })}\n`);
    return;
  }
  io.stdout(
    table(
      ['PANDAID', 'RESULT', 'MESSAGE'],
      shaped.map((o) => [String(o.pandaId), o.result, o.message]),
    ),
  );
}
