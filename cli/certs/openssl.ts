/**
 * Runs the `openssl` command-line tool, the one thing pgc certs needs besides Node: Node can make
 * keys but cannot sign certificates. openssl is on every HPC login node and control-plane host
 * (Debian, RHEL, macOS's LibreSSL), is the implementation sites already audit, and adds no
 * dependency to the package. Only options that OpenSSL 1.1.1 and 3.x share are used.
 */
import { spawn } from 'node:child_process';
import { PgcError } from '../../shared/errors.js';
import { FailureCode } from '../../shared/gen/pgc/v1/common.js';

/** Raised when openssl is missing or refuses; the message says what to do. */
export class OpensslError extends PgcError {
  override name = 'OpensslError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(FailureCode.INTERNAL, message, options);
  }
}

const MISSING =
  'pgc certs needs the openssl command-line tool, and none is on PATH: install it ' +
  '(Debian/Ubuntu: apt-get install openssl; RHEL/Alma/Rocky: dnf install openssl) and run the command again';

/** Runs `openssl <args>` with `input` on stdin; resolves with its stdout. */
export function openssl(args: readonly string[], input = ''): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new OpensslError(MISSING, { cause: e }) : e),
    );
    child.once('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else
        reject(
          new OpensslError(
            `openssl ${args[0]} failed (exit ${code}): ${Buffer.concat(err).toString('utf8').trim()}`,
          ),
        );
    });
    // openssl may exit before reading stdin (a bad option): that EPIPE is not the error to show.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}
