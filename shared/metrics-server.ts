/**
 * Serves `GET /metrics` (Prometheus text format 0.0.4, rendered by shared/prometheus.ts) over
 * plain node:http, for the control plane and, when asked for, an agent.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';
import { parseHostPort } from './tls.js';

export interface MetricsServer {
  address: string;
  close(): Promise<void>;
}

/**
 * Serves `/metrics` on `listen`. A port already in use is logged and the process runs on
 * without metrics: they are for watching, not for running jobs.
 */
export async function startMetricsServer(
  listen: string,
  render: () => string,
  log: Logger,
): Promise<MetricsServer | undefined> {
  const { host, port } = parseHostPort(listen);
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(render());
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
