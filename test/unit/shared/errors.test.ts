import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  describeError,
  FailureCode,
  fromFailure,
  PgcError,
  TimeoutError,
  toFailure,
  UnavailableError,
  ValidationError,
} from '../../../shared/errors.js';

describe('toFailure / fromFailure', () => {
  it('keeps the code, message and retryability of our own errors across the wire', () => {
    const cases = [
      new ValidationError('endpoint id "a.b" is not a valid id'),
      new UnavailableError('control plane not reachable'),
      new TimeoutError('no dispatch ack within 10000 ms'),
      new ConfigError(['slots: expected number', 'nats.url: Invalid URL']),
      new PgcError(FailureCode.UNSAFE_ARCHIVE, 'entry "../x" leaves the sandbox'),
    ];
    for (const err of cases) {
      const back = fromFailure(toFailure(err));
      expect(back).toBeInstanceOf(err.constructor);
      expect({ code: back.code, message: back.message, retryable: back.retryable }).toEqual({
        code: err.code,
        message: err.message,
        retryable: err.retryable,
      });
    }
  });

  it('classifies system errors by errno', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
    });
    expect(toFailure(enospc)).toEqual({
      code: FailureCode.NO_SPACE,
      message: enospc.message,
      retryable: true,
    });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
    });
    expect(toFailure(refused).code).toBe(FailureCode.UNAVAILABLE);
    expect(toFailure(refused).retryable).toBe(true);
  });

  it('makes anything else INTERNAL and not retryable', () => {
    expect(toFailure(new TypeError('x is undefined'))).toEqual({
      code: FailureCode.INTERNAL,
      message: 'x is undefined',
      retryable: false,
    });
    expect(toFailure('a string')).toEqual({
      code: FailureCode.INTERNAL,
      message: 'a string',
      retryable: false,
    });
  });

  it('lets a caller override retryability', () => {
    expect(new PgcError(FailureCode.UNAVAILABLE, 'gone', { retryable: false }).retryable).toBe(
      false,
    );
  });
});

describe('describeError', () => {
  it('includes the chain of causes', () => {
    const err = new UnavailableError('PanDA not reachable', {
      cause: new Error('connect ECONNREFUSED'),
    });
    expect(describeError(err)).toBe('PanDA not reachable: caused by: connect ECONNREFUSED');
  });
});
