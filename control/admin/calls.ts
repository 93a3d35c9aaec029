/**
 * The plumbing every Admin method shares: typed errors become meaningful gRPC status codes, and
 * server streams honour back-pressure and cancellation. An error raised by the control plane
 * carries the `pgc-origin` metadata, so the CLI can tell "the control plane said UNAVAILABLE"
 * (NATS is down) from "the control plane cannot be reached".
 */
import {
  type handleServerStreamingCall,
  type handleUnaryCall,
  Metadata,
  type ServerWritableStream,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { describeError, FailureCode, PgcError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';

/** Metadata key set on every error the control plane itself returns (wire contract, cli/). */
export const ORIGIN_METADATA = 'pgc-origin';

const BY_CODE: Partial<Record<FailureCode, status>> = {
  [FailureCode.INVALID_ARGUMENT]: status.INVALID_ARGUMENT,
  [FailureCode.NOT_FOUND]: status.NOT_FOUND,
  [FailureCode.FAILED_PRECONDITION]: status.FAILED_PRECONDITION,
  [FailureCode.UNAVAILABLE]: status.UNAVAILABLE,
  [FailureCode.TIMEOUT]: status.UNAVAILABLE,
  [FailureCode.PERMISSION_DENIED]: status.PERMISSION_DENIED,
  [FailureCode.CANCELLED]: status.CANCELLED,
};

export const notFound = (message: string): PgcError => new PgcError(FailureCode.NOT_FOUND, message);
export const precondition = (message: string): PgcError =>
  new PgcError(FailureCode.FAILED_PRECONDITION, message);

/** The gRPC error for anything a handler threw; unexpected errors are INTERNAL and logged. */
export function toServiceError(err: unknown, log: Logger, method: string): Partial<ServiceError> {
  const code = err instanceof PgcError ? (BY_CODE[err.code] ?? status.INTERNAL) : status.INTERNAL;
  if (code === status.INTERNAL) log.error({ err, method }, 'admin call failed');
  const metadata = new Metadata();
  metadata.set(ORIGIN_METADATA, 'control-plane');
  return { code, details: describeError(err), metadata };
}

/** A unary handler from an async function. */
export function unary<Req, Res>(
  method: string,
  log: Logger,
  fn: (request: Req) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request).then(
      (response) => callback(null, response),
      (err: unknown) => callback(toServiceError(err, log, method)),
    );
  };
}

/**
 * A server-streaming handler from an async function that writes through `write` (resolves once
 * the message may be followed by another) and watches `signal` (aborted when the client goes).
 */
export function serverStream<Req, Res>(
  method: string,
  log: Logger,
  fn: (request: Req, write: (m: Res) => Promise<void>, signal: AbortSignal) => Promise<void>,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const abort = new AbortController();
    call.on('cancelled', () => abort.abort());
    call.on('close', () => abort.abort());
    fn(call.request, (m) => writeMessage(call, m, abort.signal), abort.signal).then(
      () => {
        if (!abort.signal.aborted) call.end();
      },
      (err: unknown) => {
        if (!abort.signal.aborted) call.emit('error', toServiceError(err, log, method));
      },
    );
  };
}

function writeMessage<Req, Res>(
  call: ServerWritableStream<Req, Res>,
  message: Res,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return Promise.reject(new PgcError(FailureCode.CANCELLED, 'call cancelled'));
  if (call.write(message)) return Promise.resolve();
  // Buffered beyond the high-water mark: wait until the client reads (or leaves).
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
