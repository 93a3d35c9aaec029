/**
 * The PanDA cache ("sandbox") directory: what file_server/upload_cache_file writes and Apache
 * serves as /cache/<name> (srv api/v1/file_server_api.py::upload_cache_file; reference §4.1).
 */
import { existsSync, renameSync, utimesSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { PyFile } from './py-value.js';

const MB = 1024 * 1024;
/** prun --noBuild sandboxes (`jobO.*`) and anything else not named `sources.*` (reference §4.1). */
export const NO_BUILD_LIMIT_BYTES = 10 * MB;
/** Sandboxes of build jobs, named `sources.*`. */
export const SOURCES_LIMIT_BYTES = 768 * MB;

export const ERROR_OVERWRITE = 'ERROR: cannot overwrite file';
export const ERROR_WRITE = 'ERROR: cannot write file';
export const ERROR_SIZE_LIMIT = 'ERROR: upload failure. Exceeded size limit';

// Cache names the simulator stores and serves: no '/', no leading '.', no '..'.
const CACHE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+=-]{0,254}$/;

export function isValidCacheName(name: string): boolean {
  return CACHE_NAME.test(name) && !name.includes('..');
}

export type UploadVerdict = { ok: true } | { ok: false; message: string };

export class CacheStore {
  private constructor(readonly dir: string) {}

  /** Temporary upload files go here, on the same filesystem so a rename is atomic. */
  get uploadDir(): string {
    return join(this.dir, '.uploads');
  }

  static async open(dir: string): Promise<CacheStore> {
    const store = new CacheStore(dir);
    await mkdir(store.uploadDir, { recursive: true });
    return store;
  }

  /** The file of a valid name, whether or not it exists. */
  pathOf(name: string): string | undefined {
    return isValidCacheName(name) ? join(this.dir, name) : undefined;
  }

  /**
   * Applies the server's rules to an uploaded file part: the size limit (checked against the
   * request's Content-Length, as the server does), no overwrite unless the name ends `.__ow__`.
   * On success the temporary file becomes the cache file.
   */
  async accept(file: PyFile, requestBytes: number): Promise<UploadVerdict> {
    const noBuild = !file.filename.startsWith('sources.');
    const limit = noBuild ? NO_BUILD_LIMIT_BYTES : SOURCES_LIMIT_BYTES;
    if (requestBytes > limit) {
      const hint = noBuild
        ? ' Please submit the job without --noBuild/--libDS since those options impose a tighter size limit'
        : ' Please remove redundant files from your work area';
      await rm(file.path, { force: true });
      return {
        ok: false,
        message: `${ERROR_SIZE_LIMIT} ${Math.floor(requestBytes / MB)} MB > ${limit / MB} MB.${hint}`,
      };
    }
    const name = file.filename.split('/').pop() ?? '';
    const target = this.pathOf(name);
    if (target === undefined) {
      await rm(file.path, { force: true });
      return { ok: false, message: ERROR_WRITE };
    }
    // Check and rename in one synchronous step: no other request can slip in between.
    if (existsSync(target) && file.filename.split('.').pop() !== '__ow__') {
      const now = new Date();
      utimesSync(target, now, now); // the server touches the existing file
      await rm(file.path, { force: true });
      return { ok: false, message: ERROR_OVERWRITE };
    }
    renameSync(file.path, target);
    return { ok: true };
  }
}
