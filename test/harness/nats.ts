/**
 * A real nats-server per test file, on a free port with a temporary store. Fails loudly with the
 * install command when the binary is missing (npm test installs it where apt-get can).
 */
import { readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  findNatsServer,
  type LocalNatsOptions,
  LocalNatsServer,
} from '../../shared/nats/local-server.js';

export interface StartNatsOptions extends Omit<LocalNatsOptions, 'binary'> {
  /**
   * A configuration file to run with, e.g. the accounts `pgc nats-config` wrote. Its text is
   * used as it is (nats-server 2.9 resolves an `include` relative to the including file only).
   */
  configFile?: string;
}

export async function startNats(options: StartNatsOptions = {}): Promise<LocalNatsServer> {
  const { configFile, ...rest } = options;
  const configText = [rest.configText, configFile && readFileSync(configFile, 'utf8')]
    .filter(Boolean)
    .join('\n');
  return LocalNatsServer.start({
    ...rest,
    ...(configText ? { configText } : {}),
    binary: findNatsServer(process.env),
  });
}

/** A subject-safe token unique to this test run, so tests never see each other's messages. */
export function uniqueId(prefix = 't'): string {
  return `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/** Resolves when `nc` reports its next reconnect; create it before causing the disconnect. */
export function reconnected(nc: NatsConnection, timeoutMs = 15_000): Promise<void> {
  const statuses = nc.status()[Symbol.asyncIterator]();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no NATS reconnect within ${timeoutMs} ms`)),
      timeoutMs,
    );
    void (async () => {
      for (let s = await statuses.next(); !s.done; s = await statuses.next()) {
        if (s.value.type === 'reconnect') break;
      }
      clearTimeout(timer);
      await statuses.return?.();
      resolve();
    })();
  });
}
