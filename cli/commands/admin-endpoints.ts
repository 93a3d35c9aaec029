/** `pgc endpoints`, `pgc drain <endpoint>`, `pgc undrain <endpoint>`. */
import type { EndpointInfo } from '../../shared/gen/pgc/v1/admin.js';
import { type AdminFlags, withAdmin } from '../admin/connection.js';
import { endpointJson, endpointStatusWord } from '../admin/shapes.js';
import { ago, table } from '../admin/table.js';
import type { CliIo } from '../program.js';

function endpointRows(endpoints: readonly EndpointInfo[]): string[][] {
  return endpoints.map((e) => [
    e.endpointId,
    endpointStatusWord(e.status) + (e.drained ? ' (drained)' : ''),
    `${e.capacity?.slotsUsed ?? 0}/${e.capacity?.slotsTotal ?? 0}`,
    String(e.runningJobs),
    ago(e.lastSeenMs),
    e.agentVersion || '-',
    e.queues.join(',') || '-',
  ]);
}

const HEADER = ['ENDPOINT', 'STATUS', 'SLOTS', 'JOBS', 'LAST SEEN', 'VERSION', 'QUEUES'];

export async function runEndpoints(flags: AdminFlags, io: CliIo): Promise<void> {
  const { endpoints } = await withAdmin(flags, (a) => a.listEndpoints());
  if (flags.json) {
    io.stdout(`${JSON.stringify({ endpoints: endpoints.map(endpointJson) })}\n`);
    return;
  }
  if (endpoints.length === 0) {
    io.stdout('no endpoint has connected to this control plane yet\n');
    return;
  }
  io.stdout(table(HEADER, endpointRows(endpoints)));
}

export async function runDrain(
  endpointId: string,
  drained: boolean,
  flags: AdminFlags,
  io: CliIo,
): Promise<void> {
  const { endpoint } = await withAdmin(flags, (a) => a.drain(endpointId, drained));
  if (flags.json) {
    io.stdout(`${JSON.stringify({ endpoint: endpoint ? endpointJson(endpoint) : null })}\n`);
    return;
  }
  io.stdout(
    drained
      ? `${endpointId} drained: nothing new is dispatched to it; its ${endpoint?.runningJobs ?? 0} job(s) go on\n`
      : `${endpointId} undrained: it takes new jobs again\n`,
  );
}
