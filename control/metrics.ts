/**
 * A minimal Prometheus endpoint (`GET /metrics`, text format 0.0.4) with the gauges an operator
 * watches: jobs by state, connected endpoints, the report outbox and pending commands. Plain
 * node:http: the control plane needs a handful of gauges, not a metrics library.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../shared/logger.js';
import { parseHostPort } from '../shared/tls.js';

export interface Gauge {
  name: string;
  help: string;
  samples: Array<{ labels?: Record<string, string>; value: number }>;
}

export function renderMetrics(gauges: readonly Gauge[]): string {
  const lines: string[] = [];
  for (const g of gauges) {
    lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`);
    for (const s of g.samples) {
      const labels = Object.entries(s.labels ?? {})
        .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`)
        .join(',');
      lines.push(`${g.name}${labels ? `{${labels}}` : ''} ${s.value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export interface MetricsServer {
  address: string;
  close(): Promise<void>;
}

/**
 * Serves `/metrics` on `listen`. A port already in use is logged and the control plane runs on
 * without metrics: they are for watching, not for running jobs.
 */
export async function startMetricsServer(
  listen: string,
  gauges: () => Gauge[],
  log: Logger,
): Promise<MetricsServer | undefined> {
  const { host, port } = parseHostPort(listen);
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res
      .writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
      .end(renderMetrics(gauges()));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    log.warn({ listen, err: (err as Error).message }, 'metrics listener not started');
    return undefined;
  }
  const bound = server.address() as AddressInfo;
  const address = `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  log.info({ address }, 'metrics at /metrics');
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
