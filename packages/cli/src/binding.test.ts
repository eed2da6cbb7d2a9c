import { describe, expect, it } from 'vitest';
import { explainBinding } from './binding.js';

const MTLS = { mtls: true, acceptBoundTokens: false };
const PLAIN = { mtls: false, acceptBoundTokens: false };
const ACCEPTING = { mtls: false, acceptBoundTokens: true };
const OURS = 'IzSYuXHMjPf0OCk-kJi48l5afnFkkCesSh7iKDrLges';
const THEIRS = 'e24hvPrwcFke85KXrZ1-UUSjyd-O4oCllldWbR2Xy4A';

describe('explainBinding with a client certificate (mtls)', () => {
  it('accepts a token bound to the certificate, showing the start of its thumbprint', () => {
    expect(explainBinding({ 'x5t#S256': OURS }, MTLS, OURS)).toEqual([
      {
        id: 'binding',
        status: 'pass',
        message: 'bound to the client certificate (x5t#S256 IzSYuXHMjPf0...)',
      },
    ]);
  });

  it('rejects a token bound to another certificate, naming both thumbprints', () => {
    expect(explainBinding({ 'x5t#S256': THEIRS }, MTLS, OURS)).toEqual([
      {
        id: 'binding',
        status: 'fail',
        message: `bound to another certificate: the token's x5t#S256 is ${THEIRS}, the certificate's is ${OURS}`,
      },
    ]);
  });

  it('escapes a hostile x5t#S256 and shows a non-string one as JSON', () => {
    const [hostile] = explainBinding({ 'x5t#S256': 'a\u001b[2Jb' }, MTLS, OURS);
    expect(hostile?.message).toContain("the token's x5t#S256 is a\\u001b[2Jb,");
    expect(explainBinding({ 'x5t#S256': [OURS] }, MTLS, OURS)[0]).toMatchObject({
      status: 'fail',
      message: expect.stringContaining(`the token's x5t#S256 is ["${OURS}"]`),
    });
  });

  it('passes an unbound token: nothing to prove, with a note', () => {
    for (const cnf of [undefined, null]) {
      expect(explainBinding(cnf, MTLS, OURS)).toEqual([
        {
          id: 'binding',
          status: 'pass',
          message:
            'not bound to a key (no cnf): nothing to prove; an API with mutual TLS accepts it with or without a client certificate (this one is x5t#S256 IzSYuXHMjPf0...)',
        },
      ]);
    }
  });

  it('rejects a DPoP-bound token: the certificate does not prove jkt, and no DPoP proof is made', () => {
    expect(explainBinding({ jkt: 'k' }, MTLS, OURS)).toEqual([
      {
        id: 'binding',
        status: 'fail',
        message:
          'bound to a key (cnf jkt): a DPoP key (jkt) is proven only by a DPoP proof of each request, which tokenguard verify cannot make; --client-certificate proves only cnf x5t#S256',
      },
    ]);
  });

  it('rejects a token bound to the certificate and to a DPoP key: every method must be proven', () => {
    const [line] = explainBinding({ 'x5t#S256': OURS, jkt: 'k' }, MTLS, OURS);
    expect(line).toEqual({
      id: 'binding',
      status: 'fail',
      message:
        'bound to the client certificate (x5t#S256 IzSYuXHMjPf0...) and also by cnf jkt, which a certificate does not prove: a DPoP key (jkt) is proven only by a DPoP proof of each request, which tokenguard verify cannot make',
    });
    expect(explainBinding({ 'x5t#S256': OURS, jwk: {} }, MTLS, OURS)[0]?.message).toContain(
      'also by cnf jwk, which a certificate does not prove: no request proves it',
    );
  });

  it('rejects a cnf that is not an object', () => {
    expect(explainBinding('x5t', MTLS, OURS)[0]).toEqual({
      id: 'binding',
      status: 'fail',
      message: 'bound to a key (cnf of an unknown form), which no request proves',
    });
  });

  it('asks for the certificate when mtls came without one (an embedder setting mtls)', () => {
    expect(explainBinding({ 'x5t#S256': THEIRS }, MTLS, undefined)[0]).toMatchObject({
      status: 'fail',
      message: `bound to a TLS client certificate (cnf x5t#S256 ${THEIRS}) and no certificate was given: add --client-certificate <file>`,
    });
    expect(explainBinding(undefined, MTLS, undefined)).toEqual([]);
  });
});

describe('explainBinding without a client certificate', () => {
  it('has no line for an unbound token', () => {
    expect(explainBinding(undefined, PLAIN, undefined)).toEqual([]);
  });

  it('rejects a certificate-bound token and points at --client-certificate', () => {
    expect(explainBinding({ 'x5t#S256': OURS }, PLAIN, undefined)[0]).toEqual({
      id: 'binding',
      status: 'fail',
      message:
        'bound to a key (cnf x5t#S256) and presented without its proof; an API that checks the proof (DPoP, mutual TLS) accepts it. To check cnf x5t#S256 against the client certificate, add --client-certificate <file>; to look at the rest, add --accept-bound-tokens',
    });
  });

  it('rejects a DPoP-bound token as before, without the certificate hint', () => {
    expect(explainBinding({ jkt: 'k' }, PLAIN, undefined)[0]?.message).toBe(
      'bound to a key (cnf jkt) and presented without its proof; an API that checks the proof (DPoP, mutual TLS) accepts it. To look at the rest, add --accept-bound-tokens',
    );
  });

  it('skips any bound token with --accept-bound-tokens', () => {
    expect(explainBinding({ jkt: 'k', 'x5t#S256': OURS }, ACCEPTING, undefined)).toEqual([
      {
        id: 'binding',
        status: 'skip',
        message: 'bound to a key (cnf jkt and x5t#S256): its proof of possession was not checked',
      },
    ]);
  });
});
