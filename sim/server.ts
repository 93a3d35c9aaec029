/**
 * PandaSim: a PanDA server test double that speaks the v1 wire protocol (reference
 * panda-protocol.md, "What a simulator must implement", items 1–6 and 8) over plain HTTP, plus the
 * simulator's own /sim/ API. Start it on port 0 in tests; `pgc panda-sim` runs it standalone.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../shared/logger.js';
import { handleApi } from './api-router.js';
import { CacheStore } from './cache.js';
import { sendText } from './http-io.js';
import { ReplicaRegistry } from './replicas.js';
import { handleSimApi } from './sim-api.js';
import { SimCore } from './sim-core.js';
import { pathSegment, sendFile } from './static-files.js';
import type { SimTimeouts } from './timeouts.js';

export type { SimTimeouts } from './timeouts.js';

export interface PandaSimOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** When set, v1 calls need `Authorization: Bearer <token>` (else "SSL secure connection is required"). */
  token?: string;
  /**
   * Serve HTTPS. With `ca`, clients may present a certificate from that CA, which then counts as
   * credentials (PanDA's x509 DN); calls without a token or certificate get "SSL secure connection
   * is required".
   */
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer };
  log: Logger;
  timeouts?: Partial<SimTimeouts>;
  /** Where cache files and replicas live; a temporary directory (removed on close) by default. */
  cacheDir?: string;
}

export class PandaSim {
  private constructor(
    private readonly server: Server,
    private readonly core: SimCore,
    private readonly log: Logger,
    private readonly removeOnClose: string | undefined,
    /** `http://<host>:<port>`, without a trailing slash. */
    readonly url: string,
  ) {}

  static async start(options: PandaSimOptions): Promise<PandaSim> {
    const log = options.log.child({ component: 'panda-sim' });
    const ownDir =
      options.cacheDir === undefined ? await mkdtemp(join(tmpdir(), 'panda-sim-')) : undefined;
    const dir = options.cacheDir ?? (ownDir as string);
    try {
      const cache = await CacheStore.open(dir);
      const replicas = await ReplicaRegistry.open(join(dir, '.replicas'));
      let url = '';
      const core = new SimCore(
        log,
        cache,
        replicas,
        options.token,
        options.tls?.ca !== undefined,
        options.timeouts ?? {},
        () => url,
      );
      const handler = (req: IncomingMessage, res: ServerResponse): void => {
        dispatch(req, res, core).catch((err: unknown) => {
          log.error({ err, path: req.url }, 'request failed');
          if (!res.headersSent) sendText(res, 500, 'panda-sim: internal error');
          else res.destroy();
        });
      };
      const tls = options.tls;
      const server: Server =
        tls === undefined
          ? createServer(handler)
          : createTlsServer(
              // Ask for a client certificate but let the handler decide, as Apache's
              // `SSLVerifyClient optional` does for PanDA.
              {
                cert: tls.cert,
                key: tls.key,
                ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: false } : {}),
              },
              handler,
            );
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      url = `${tls === undefined ? 'http' : 'https'}://${host}:${address.port}`;
      log.info({ url, cacheDir: dir, auth: options.token !== undefined }, 'panda-sim listening');
      return new PandaSim(server, core, log, ownDir, url);
    } catch (err) {
      if (ownDir !== undefined) await rm(ownDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Changes the simulated server clocks at run time (merged into the current ones). */
  setTimeouts(timeouts: Partial<SimTimeouts>): void {
    this.core.setTimeouts(timeouts);
  }

  /** Stops listening, drops open connections and timers, removes a temporary cache directory. */
  async close(): Promise<void> {
    this.core.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
    if (this.removeOnClose !== undefined)
      await rm(this.removeOnClose, { recursive: true, force: true });
    this.log.info('panda-sim closed');
  }
}

async function dispatch(req: IncomingMessage, res: ServerResponse, core: SimCore): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://panda-sim');
  } catch {
    sendText(res, 400, 'bad request URL');
    return;
  }
  const path = url.pathname;
  if (path === '/sim' || path.startsWith('/sim/')) {
    await handleSimApi(req, res, url, core);
    return;
  }
  const atMs = core.now();
  const fault = core.faults.match(path, atMs);
  core.recordApiCall({ atMs, method: req.method ?? 'GET', path, faulted: fault !== undefined });
  if (fault !== undefined) {
    core.faults.inflict(fault, req, res, atMs);
    return;
  }
  if (path.startsWith('/api/') || path.startsWith('/server/panda/')) {
    await handleApi(req, res, url, core);
    return;
  }
  const cache = /^\/cache\/([^/]+)$/.exec(path);
  if (cache !== null && (req.method === 'GET' || req.method === 'HEAD')) {
    const name = pathSegment(cache[1] as string);
    await sendFile(req, res, name === undefined ? undefined : core.cache.pathOf(name));
    return;
  }
  sendText(res, 404, 'not found');
}
