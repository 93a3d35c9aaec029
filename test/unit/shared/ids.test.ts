import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../shared/errors.js';
import { attemptId, validateId, validateJobKey, validatePandaId } from '../../../shared/ids.js';

describe('validateId', () => {
  it('accepts letters, digits, underscore and dash up to 64 characters', () => {
    for (const id of ['bnl-gc-01', 'BNL_Funcx_Test', 'a', 'x'.repeat(64)])
      expect(validateId('endpoint id', id)).toBe(id);
  });

  it('rejects what could become a wildcard, a path or a second subject token, naming the id', () => {
    for (const bad of ['', 'a.b', 'a>', '*', '../x', 'a b', 'x'.repeat(65), 'é', 'a\nb']) {
      expect(() => validateId('endpoint id', bad)).toThrow(ValidationError);
    }
    expect(() => validateId('queue name', 'a.>')).toThrow('queue name "a.>" is not a valid id');
    expect(() => validateId('queue name', 7)).toThrow('queue name must be a string, got number');
  });
});

describe('validatePandaId', () => {
  it('accepts positive safe integers, also as digit strings', () => {
    expect(validatePandaId(7_000_000_001)).toBe(7_000_000_001);
    expect(validatePandaId('42')).toBe(42);
  });
  it('rejects zero, negatives, fractions and text', () => {
    for (const bad of [0, -1, 1.5, 'x', '1e3', Number.MAX_SAFE_INTEGER + 2, null])
      expect(() => validatePandaId(bad)).toThrow(ValidationError);
  });
});

describe('job keys', () => {
  it('sorts attempt ids numerically as strings', () => {
    const ids = [
      { pandaId: 10, attemptNr: 1 },
      { pandaId: 9, attemptNr: 12 },
      { pandaId: 9, attemptNr: 2 },
    ].map(attemptId);
    expect([...ids].sort()).toEqual([ids[2], ids[1], ids[0]]);
  });
  it('rejects a missing key or a negative attempt', () => {
    expect(() => validateJobKey(undefined)).toThrow('job key is missing');
    expect(() => validateJobKey({ pandaId: 5, attemptNr: -1 })).toThrow(ValidationError);
  });
});
