/** Helpers for tests that drive the PanDA simulator directly (its /sim/ API and raw v1 calls). */
import { httpRequest } from '../../shared/http.js';
import { silentLogger } from '../../shared/logger.js';
import { PandaSim, type PandaSimOptions } from '../../sim/server.js';

export async function startSim(options: Partial<PandaSimOptions> = {}): Promise<PandaSim> {
  return PandaSim.start({ port: 0, log: silentLogger(), ...options });
}

/** A JSON request to the simulator; returns the parsed reply (throws on a non-2xx status). */
export async function simJson<T = unknown>(
  baseUrl: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await httpRequest({
    url: `${baseUrl}${path}`,
    method,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    timeoutMs: 10_000,
  });
  const text = response.body.toString('utf8');
  if (response.status < 200 || response.status >= 300)
    throw new Error(`${method} ${path}: HTTP ${response.status}: ${text}`);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

export interface SimJobView {
  pandaId: number;
  status: string;
  attemptNr: number;
  commandToPilot: string | null;
  history: Array<{ method: string; params: unknown; reply: unknown }>;
  [key: string]: unknown;
}

export async function simJob(baseUrl: string, pandaId: number): Promise<SimJobView> {
  return simJson<SimJobView>(baseUrl, 'GET', `/sim/jobs/${pandaId}`);
}
