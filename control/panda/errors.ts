/**
 * What can go wrong talking to PanDA, typed so callers can decide: an HTTP status the server
 * answered with, a logical refusal (`success: false` with its message), or a reply we cannot
 * read. Timeouts and connection failures arrive as shared TimeoutError / UnavailableError.
 */
import { FailureCode, PgcError } from '../../shared/errors.js';

/** The server answered with an HTTP error status (403: forbidden/bad token; 5xx: try again later). */
export class PandaHttpError extends PgcError {
  override name = 'PandaHttpError';
  constructor(
    readonly method: string,
    readonly httpStatus: number,
    body: string,
  ) {
    const code =
      httpStatus === 403
        ? FailureCode.PERMISSION_DENIED
        : httpStatus >= 500
          ? FailureCode.UNAVAILABLE
          : FailureCode.INTERNAL;
    super(code, `PanDA ${method}: HTTP ${httpStatus}${body ? `: ${body.slice(0, 300)}` : ''}`, {
      retryable: httpStatus >= 500,
    });
  }
}

/** PanDA understood the call and said no (`success: false`): an argument error, a role problem. */
export class PandaRejectedError extends PgcError {
  override name = 'PandaRejectedError';
  constructor(
    readonly method: string,
    readonly pandaMessage: string,
  ) {
    super(FailureCode.FAILED_PRECONDITION, `PanDA ${method} refused: ${pandaMessage}`, {
      retryable: false,
    });
  }
}

/** The reply is not the v1 JSON envelope. */
export class PandaProtocolError extends PgcError {
  override name = 'PandaProtocolError';
  constructor(
    readonly method: string,
    detail: string,
  ) {
    super(FailureCode.INTERNAL, `PanDA ${method}: unreadable reply: ${detail}`, {
      retryable: false,
    });
  }
}
