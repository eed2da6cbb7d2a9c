/**
 * README "## Options": `realm` (string) is the `realm` of the `WWW-Authenticate` challenges, and "a bad
 * option throws a `TypeError` naming it". A realm with a control character (a trailing newline read from
 * a file or `.env`) or a non-ASCII letter is accepted at construction and then silently rewritten in
 * every challenge: `realm: 'Orders\n'` answers `realm="Orders?"`, `'Zürich API'` answers
 * `realm="Z?rich API"`. Either the option is refused, naming `realm` (as `issuer`/`audience` with
 * whitespace or control characters are), or the challenge carries the realm as configured.
 */
import type { AddressInfo } from 'node:net';
import { createValidator } from '@tokenguard/core';
import { tokenguard } from '@tokenguard/express';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { typeErrorOf } from './support/rejections.js';

const BASE = { issuer: 'https://id.example/', audience: 'https://api.example', jwks: { keys: [] } };
const REALMS = ['Orders\n', 'Zürich API', 'a\u0000b'];

describe.each(REALMS)('realm %j', (realm) => {
  it('createValidator refuses it naming "realm", or the challenge carries it unchanged', async () => {
    const refused = typeErrorOf(() => createValidator({ ...BASE, realm }));
    if (refused !== 'accepted') {
      expect(refused).toMatch(/invalid option "realm"/);
      return;
    }
    const validator = createValidator({ ...BASE, realm });
    try {
      const error = await validator.validate('').catch((caught: { wwwAuthenticate: string }) => caught);
      expect((error as { wwwAuthenticate: string }).wwwAuthenticate).toContain(`realm="${realm}"`);
    } finally {
      await validator.close();
    }
  });
});

describe('through Express, on a real server', () => {
  let server: ReturnType<ReturnType<typeof express>['listen']> | undefined;
  let url = '';
  let construction = 'accepted';
  beforeAll(async () => {
    construction = typeErrorOf(() => tokenguard({ ...BASE, realm: 'Orders\n' }));
    if (construction !== 'accepted') return;
    const app = express();
    app.use(tokenguard({ ...BASE, realm: 'Orders\n' }));
    app.get('/orders', (_req, res) => res.json([]));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server?.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
  });
  afterAll(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  });

  it('tokenguard({ realm: "Orders\\n" }) throws naming realm, instead of answering realm="Orders?"', async () => {
    if (construction === 'accepted') {
      const response = await fetch(url);
      // What a client sees today: a realm nobody configured.
      expect(response.headers.get('www-authenticate')).not.toBe('Bearer realm="Orders?"');
    }
    expect(construction).toMatch(/invalid option "realm"/);
  });
});
