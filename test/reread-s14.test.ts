/**
 * Session 14 re-read (helper-95): the root README, held to what the session added. The adapters'
 * `clientCertificate` option (core's ADAPTER_KEYS, each adapter README's table) is missing from the root
 * README's list of adapter-only options.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('the root README on adapter options', () => {
  it('names every adapter-only option, clientCertificate included', () => {
    const start = README.indexOf('Adapter-only options:');
    expect(start).toBeGreaterThan(-1);
    const paragraph = README.slice(start, README.indexOf('\n\n', start));
    for (const option of ['optional', 'transport', 'onError', 'clientCertificate']) {
      expect(paragraph, option).toContain(`\`${option}`);
    }
  });
});
