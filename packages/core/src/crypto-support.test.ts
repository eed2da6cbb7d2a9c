import { KeyObject, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  keyOptionsAccepted,
  passesKeyOptionsKnownAnswer,
  passesPssKnownAnswer,
  pssHonoured,
  type Verifier,
} from './crypto-support.js';

/** workerd's `verify` (nodejs_compat): a KeyObject inside an options object is an argument error. */
const refusesKeyOptions = ((algorithm: string, data: Buffer, key: unknown, signature: Buffer) => {
  if (key !== null && typeof key === 'object' && !(key instanceof KeyObject) && 'key' in key) {
    if ((key as { key: unknown }).key instanceof KeyObject)
      throw new TypeError('options.key: PublicKeyObject');
  }
  return verify(algorithm, data, key as KeyObject, signature);
}) as unknown as Verifier;

/** A `verify` that takes the options but drops the padding: every RSA signature is checked as PKCS#1 v1.5. */
const ignoresPadding = ((algorithm: string, data: Buffer, key: { key: KeyObject }, signature: Buffer) =>
  verify(algorithm, data, key.key, signature)) as unknown as Verifier;

describe('keyOptionsAccepted and pssHonoured', () => {
  it('are true on Node', () => {
    expect(keyOptionsAccepted()).toBe(true);
    expect(pssHonoured()).toBe(true);
    expect(passesKeyOptionsKnownAnswer(verify)).toBe(true);
    expect(passesPssKnownAnswer(verify)).toBe(true);
  });

  it('find a verify that refuses a KeyObject inside options (workerd), and one that throws', () => {
    expect(passesKeyOptionsKnownAnswer(refusesKeyOptions)).toBe(false);
    expect(passesPssKnownAnswer(refusesKeyOptions)).toBe(false);
    const throws = (() => {
      throw new Error('unsupported');
    }) as unknown as Verifier;
    expect(passesKeyOptionsKnownAnswer(throws)).toBe(false);
    expect(passesPssKnownAnswer(throws)).toBe(false);
  });

  it('find a verify that ignores the PSS padding: it would take an RS256 signature for PS256', () => {
    expect(passesPssKnownAnswer(ignoresPadding)).toBe(false);
  });

  it('find a verify that accepts anything', () => {
    const yes = (() => true) as unknown as Verifier;
    expect(passesKeyOptionsKnownAnswer(yes)).toBe(false);
    expect(passesPssKnownAnswer(yes)).toBe(false);
  });
});
