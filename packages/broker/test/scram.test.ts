import { describe, expect, it } from 'vitest';
import type { AuthStep, Client } from '../src/index.js';
import { deriveScramKeys, MemoryCredentialStore, ScramSha256, verifyPassword } from '../src/index.js';

const client = { id: 'c' } as Client;
const text = (step: AuthStep) => (step.outcome === 'failure' || step.data === undefined ? '' : Buffer.from(step.data).toString());
const bytes = (s: string) => new TextEncoder().encode(s);

/** RFC 7677 §3: user "user", password "pencil", the example nonces and salt. */
function rfcMethod() {
  const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
  const store = new MemoryCredentialStore().set({ username: 'user', scramSha256: deriveScramKeys('pencil', { salt, iterations: 4096 }) });
  return new ScramSha256(store, { serverNonce: () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0' });
}

describe('SCRAM-SHA-256 (server side)', () => {
  it('[RFC 7677 §3] reproduces the example exchange: server-first, then the server signature', async () => {
    const exchange = rfcMethod().begin(client, false);
    const first = await exchange.step(bytes('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
    expect(first.outcome).toBe('continue');
    expect(text(first)).toBe('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
    const final = await exchange.step(
      bytes('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='),
    );
    expect(final).toMatchObject({ outcome: 'success', username: 'user' });
    expect(text(final)).toBe('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });

  it('[RFC 5802 §5.1] a proof with one bit changed fails; a second client-final is refused', async () => {
    const exchange = rfcMethod().begin(client, false);
    await exchange.step(bytes('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
    const bad = await exchange.step(bytes('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=eHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='));
    expect(bad).toMatchObject({ outcome: 'failure', reasonCode: 0x86 });
    expect((await exchange.step(bytes('c=biws'))).outcome).toBe('failure');
  });

  it('[RFC 5802 §6] channel binding (p=) and mandatory extensions (m=) are refused, as is a missing message', async () => {
    for (const first of ['p=tls-unique,,n=user,r=abc', 'n,,m=ext,n=user,r=abc', 'n,,n=user,r=abc,m=ext']) {
      expect((await rfcMethod().begin(client, false).step(bytes(first))).outcome).toBe('failure');
    }
    expect((await rfcMethod().begin(client, false).step(undefined)).outcome).toBe('failure');
  });

  it('verifyPassword checks a plain password against the stored salted keys', async () => {
    const keys = deriveScramKeys('secret', { iterations: 1000 });
    expect(await verifyPassword(keys, bytes('secret'))).toBe(true);
    expect(await verifyPassword(keys, bytes('Secret'))).toBe(false);
    expect(Object.values(keys).some((v) => v instanceof Uint8Array && Buffer.from(v).toString().includes('secret'))).toBe(false);
  });
});
