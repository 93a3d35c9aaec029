/**
 * Registered input replicas: the simulator's stand-in for Rucio plus grid storage. A file posted
 * to /sim/files gets a GUID, its size and adler32 (8 lowercase hex, like Rucio), and is served
 * back from /sim/files/<scope>/<lfn>. Jobs may only name registered replicas as inputs.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, renameSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { digestFile } from '../shared/checksum.js';
import { LFN_PATTERN, type Replica, SCOPE_PATTERN } from './job-definition.js';

export type RegisterResult =
  | { ok: true; replica: Replica; created: boolean }
  | { ok: false; status: 400 | 409; message: string };

export class ReplicaRegistry {
  private readonly replicas = new Map<string, Replica>();

  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<ReplicaRegistry> {
    await mkdir(dir, { recursive: true });
    return new ReplicaRegistry(dir);
  }

  find(scope: string, lfn: string): Replica | undefined {
    return this.replicas.get(`${scope}:${lfn}`);
  }

  list(): Replica[] {
    return [...this.replicas.values()];
  }

  /** Where a registered replica's bytes are; undefined if it is not registered. */
  pathOf(scope: string, lfn: string): string | undefined {
    return this.find(scope, lfn) === undefined ? undefined : join(this.dir, scope, lfn);
  }

  /**
   * Registers the uploaded file at `tempPath` (consumed either way). A DID is immutable: the
   * same name again is fine with the same bytes (the existing replica is returned), a conflict
   * with other bytes.
   */
  async register(
    scope: string,
    lfn: string,
    dataset: string | undefined,
    tempPath: string,
  ): Promise<RegisterResult> {
    const refuse = async (status: 400 | 409, message: string): Promise<RegisterResult> => {
      await rm(tempPath, { force: true });
      return { ok: false, status, message };
    };
    if (!SCOPE_PATTERN.test(scope))
      return refuse(400, `scope ${JSON.stringify(scope)} is not valid`);
    if (!LFN_PATTERN.test(lfn)) return refuse(400, `LFN ${JSON.stringify(lfn)} is not valid`);
    const digest = await digestFile(tempPath);
    const existing = this.find(scope, lfn);
    if (existing !== undefined) {
      if (existing.adler32 === digest.adler32 && existing.fsize === digest.sizeBytes) {
        await rm(tempPath, { force: true });
        return { ok: true, replica: existing, created: false };
      }
      return refuse(
        409,
        `${scope}:${lfn} is already registered with other content (adler32 ${existing.adler32})`,
      );
    }
    const replica: Replica = {
      scope,
      lfn,
      guid: randomUUID(),
      fsize: digest.sizeBytes,
      adler32: digest.adler32,
      dataset: dataset ?? `${scope}.sim_inputs`,
    };
    // Synchronous from the check to the insert, so two uploads of one name cannot both win.
    if (this.find(scope, lfn) !== undefined)
      return refuse(409, `${scope}:${lfn} was registered meanwhile`);
    mkdirSync(join(this.dir, scope), { recursive: true });
    renameSync(tempPath, join(this.dir, scope, lfn));
    this.replicas.set(`${scope}:${lfn}`, replica);
    return { ok: true, replica, created: true };
  }
}
