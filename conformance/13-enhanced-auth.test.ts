/**
 * 13 — MQTT 5.0 enhanced authentication (§4.12, AUTH §3.15): the built-in SCRAM-SHA-256
 * (RFC 7677 / RFC 5802) done for real from the client side with node:crypto, a pluggable
 * method, re-authentication, and user name/password checked against the same credential
 * store. hato-only (the methods and the store are broker options).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { type AuthExchange, type AuthMethod, type AuthStep, MemoryCredentialStore } from '@hato/broker';
import { auth, connect, getProp, Prop, RawClient, startBroker, subscribe } from '@hato/testkit';
import { describe, expect, it } from 'vitest';
import { client, expectDisconnectAndClose, target, uid, useBroker } from './support.js';

const SCRAM = 'SCRAM-SHA-256';
const store = new MemoryCredentialStore().setPassword('alice', 'wonderland').setPassword('bob,=x', 'p@ss');

/** A custom two-step challenge/response method with an asynchronous step. */
class ChallengeMethod implements AuthMethod {
  readonly name = 'X-CHALLENGE';
  begin(): AuthExchange {
    let step = 0;
    return {
      step: (data): Promise<AuthStep> => {
        step++;
        const text = data === undefined ? '' : Buffer.from(data).toString();
        if (text === 'banned') return Promise.resolve({ outcome: 'failure', reasonCode: 0x8a });
        if (step === 1) return Promise.resolve({ outcome: 'continue', data: Buffer.from(`challenge:${text}`) });
        if (text === 'answer') return Promise.resolve({ outcome: 'success', data: Buffer.from('welcome'), username: 'challenger' });
        return Promise.resolve({ outcome: 'failure', reason: 'wrong answer' });
      },
    };
  }
}

const hmac = (key: Uint8Array, data: string) => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest();

/** The client side of SCRAM-SHA-256, written from RFC 5802 §3 (independent of the broker). */
function scramClient(username: string, password: string, nonce = randomBytes(18).toString('base64')) {
  const bare = `n=${username.replaceAll('=', '=3D').replaceAll(',', '=2C')},r=${nonce}`;
  return {
    first: `n,,${bare}`,
    final(serverFirst: string) {
      const attrs = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
      expect(attrs.r?.startsWith(nonce), 'the server nonce extends the client nonce').toBe(true);
      const salted = pbkdf2Sync(password, Buffer.from(attrs.s!, 'base64'), Number(attrs.i), 32, 'sha256');
      const clientKey = hmac(salted, 'Client Key');
      const withoutProof = `c=biws,r=${attrs.r}`;
      const authMessage = `${bare},${serverFirst},${withoutProof}`;
      const signature = hmac(sha256(clientKey), authMessage);
      const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!));
      const serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
      return { clientFinal: `${withoutProof},p=${proof.toString('base64')}`, serverFinal: `v=${serverSignature.toString('base64')}` };
    },
  };
}

const authProps = (method: string, data?: string) =>
  data === undefined ? ([[Prop.AuthenticationMethod, method]] as const) : ([[Prop.AuthenticationMethod, method], [Prop.AuthenticationData, Buffer.from(data)]] as const);

const text = (value: unknown) => Buffer.from(value as Uint8Array).toString();

/** CONNECT with SCRAM up to the server-first AUTH; returns the client, the exchange and the server-first. */
async function scramStart(port: number, username: string, password: string) {
  const c = await RawClient.connect(port, { version: 5 });
  const scram = scramClient(username, password);
  c.send(connect({ version: 5, clientId: uid('scram'), properties: authProps(SCRAM, scram.first) }));
  const challenge = await c.expectPacket('auth');
  return { c, scram, challenge };
}

/** A full SCRAM CONNECT; returns the client and its CONNACK. */
async function scramConnect(port: number, username: string, password: string) {
  const { c, scram, challenge } = await scramStart(port, username, password);
  const { clientFinal, serverFinal } = scram.final(text(getProp(challenge.properties, Prop.AuthenticationData)));
  c.send(auth({ reasonCode: 0x18, properties: authProps(SCRAM, clientFinal) }));
  return { c, connack: await c.expectPacket('connack'), serverFinal };
}

describe.skipIf(target === 'mosquitto')('13 enhanced authentication', () => {
  const ctx = useBroker({ hato: { credentials: store, authMethods: [new ChallengeMethod()] } });
  const scramCtx = useBroker({ hato: { credentials: store } });

  it('[RFC 7677 §3] the test SCRAM client reproduces the RFC example exchange', () => {
    const client = scramClient('user', 'pencil', 'rOprNGfwEbeRWgbNEkqO');
    expect(client.first).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    const { clientFinal, serverFinal } = client.final('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
    expect(clientFinal).toBe('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
    expect(serverFinal).toBe('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });

  describe('SCRAM-SHA-256', () => {
    it('[MQTT-4.12.0-2][MQTT-4.12.0-5] CONNECT → AUTH 0x18 (server-first) → AUTH 0x18 (client-final) → CONNACK 0x00 with the server signature', async () => {
      const { c, scram, challenge } = await scramStart(scramCtx.port, 'alice', 'wonderland');
      expect(challenge.reasonCode).toBe(0x18);
      expect(getProp(challenge.properties, Prop.AuthenticationMethod)).toBe(SCRAM);
      const serverFirst = text(getProp(challenge.properties, Prop.AuthenticationData));
      expect(serverFirst).toMatch(/^r=[^,]+,s=[A-Za-z0-9+/=]+,i=4096$/);
      const { clientFinal, serverFinal } = scram.final(serverFirst);
      c.send(auth({ reasonCode: 0x18, properties: authProps(SCRAM, clientFinal) }));
      const connack = await c.expectPacket('connack');
      expect(connack.reasonCode).toBe(0);
      expect(getProp(connack.properties, Prop.AuthenticationMethod)).toBe(SCRAM);
      // Mutual authentication: the broker proves it knows the keys too.
      expect(text(getProp(connack.properties, Prop.AuthenticationData))).toBe(serverFinal);
      const topic = uid('scram');
      await c.subscribe(topic);
      c.publish({ topic, payload: 'in' });
      expect((await c.expectPacket('publish')).text).toBe('in');
    });

    it('[RFC 5802 §5.1] a user name with , and = is sent escaped (=2C, =3D) and accepted', async () => {
      const { connack } = await scramConnect(scramCtx.port, 'bob,=x', 'p@ss');
      expect(connack.reasonCode).toBe(0);
    });

    it('[MQTT-4.12.0-4] a wrong password fails at the proof: CONNACK 0x86 and close', async () => {
      const { c, connack } = await scramConnect(scramCtx.port, 'alice', 'looking-glass');
      expect(connack.reasonCode).toBe(0x86);
      expect(getProp(connack.properties, Prop.AuthenticationData)).toBeUndefined();
      await c.expectClose();
    });

    it('[MQTT-4.12.0-4] an unknown user gets a server-first like any other and fails at the proof (no user enumeration)', async () => {
      const { c, challenge, scram } = await scramStart(scramCtx.port, 'mallory', 'x');
      const serverFirst = text(getProp(challenge.properties, Prop.AuthenticationData));
      expect(serverFirst).toMatch(/^r=[^,]+,s=[A-Za-z0-9+/=]+,i=4096$/);
      c.send(auth({ reasonCode: 0x18, properties: authProps(SCRAM, scram.final(serverFirst).clientFinal) }));
      expect((await c.expectPacket('connack')).reasonCode).toBe(0x86);
      await c.expectClose();
    });

    it('[RFC 5802 §5.1] a client-final with another nonce is refused', async () => {
      const { c, challenge, scram } = await scramStart(scramCtx.port, 'alice', 'wonderland');
      const { clientFinal } = scram.final(text(getProp(challenge.properties, Prop.AuthenticationData)));
      c.send(auth({ reasonCode: 0x18, properties: authProps(SCRAM, clientFinal.replace(/,r=[^,]+/, ',r=forged')) }));
      expect((await c.expectPacket('connack')).reasonCode).toBe(0x86);
    });

    it('[MQTT-3.1.2-30] a PUBLISH before the CONNACK of an exchange is a protocol error', async () => {
      const { c } = await scramStart(scramCtx.port, 'alice', 'wonderland');
      c.publish({ topic: uid('early'), payload: 'x' });
      expect((await c.expectPacket('connack')).reasonCode).toBe(0x82);
      await c.expectClose();
    });

    it('[MQTT-3.1.2-30] a DISCONNECT during the exchange just closes', async () => {
      const { c } = await scramStart(scramCtx.port, 'alice', 'wonderland');
      c.disconnect({ reasonCode: 0 });
      expect(await c.expectClose()).toEqual([]);
    });

    it('[MQTT-4.12.0-5] an AUTH with another method during the exchange is a protocol error', async () => {
      const { c } = await scramStart(scramCtx.port, 'alice', 'wonderland');
      c.send(auth({ reasonCode: 0x18, properties: authProps('SCRAM-SHA-1', 'c=biws') }));
      expect((await c.expectPacket('connack')).reasonCode).toBe(0x82);
      await c.expectClose();
    });

    it('[MQTT-4.12.1-1] re-authentication: AUTH 0x19 → AUTH 0x18 → AUTH 0x18 → AUTH 0x00, messages keep flowing meanwhile', async () => {
      const { c, connack } = await scramConnect(scramCtx.port, 'alice', 'wonderland');
      expect(connack.reasonCode).toBe(0);
      const topic = uid('reauth');
      await c.subscribe(topic);
      const again = scramClient('alice', 'wonderland');
      c.send(auth({ reasonCode: 0x19, properties: authProps(SCRAM, again.first) }));
      c.publish({ topic, payload: 'during' });
      const challenge = await c.takePacket('auth');
      expect(challenge.reasonCode).toBe(0x18);
      expect((await c.takePacket('publish')).text).toBe('during');
      const { clientFinal, serverFinal } = again.final(text(getProp(challenge.properties, Prop.AuthenticationData)));
      c.send(auth({ reasonCode: 0x18, properties: authProps(SCRAM, clientFinal) }));
      const done = await c.expectPacket('auth');
      expect(done.reasonCode).toBe(0);
      expect(getProp(done.properties, Prop.AuthenticationMethod)).toBe(SCRAM);
      expect(text(getProp(done.properties, Prop.AuthenticationData))).toBe(serverFinal);
      c.publish({ topic, payload: 'after' });
      expect((await c.expectPacket('publish')).text).toBe('after');
    });

    it('[MQTT-4.12.1-2] a failed re-authentication → DISCONNECT 0x87 and close', async () => {
      const { c } = await scramConnect(scramCtx.port, 'alice', 'wonderland');
      const wrong = scramClient('alice', 'not-it');
      c.send(auth({ reasonCode: 0x19, properties: authProps(SCRAM, wrong.first) }));
      const challenge = await c.expectPacket('auth');
      c.send(auth({ reasonCode: 0x18, properties: authProps(SCRAM, wrong.final(text(getProp(challenge.properties, Prop.AuthenticationData))).clientFinal) }));
      await expectDisconnectAndClose(c, 5, [0x87]);
    });

    it('[MQTT-4.12.1-1] re-authentication with another method is a protocol error', async () => {
      const { c } = await scramConnect(scramCtx.port, 'alice', 'wonderland');
      c.send(auth({ reasonCode: 0x19, properties: authProps('X-CHALLENGE', 'hi') }));
      await expectDisconnectAndClose(c, 5, [0x82]);
    });

    it('[MQTT-4.12.0-7] AUTH from a client that connected without an Authentication Method is a protocol error', async () => {
      const c = await client(scramCtx.port, 5, { username: 'alice', password: 'wonderland' });
      c.send(auth({ reasonCode: 0x19, properties: authProps(SCRAM, 'n,,n=alice,r=abc') }));
      await expectDisconnectAndClose(c, 5, [0x82]);
    });

    it('[MQTT-4.12.0-1] an unsupported Authentication Method → CONNACK 0x8C and close', async () => {
      const c = await RawClient.connect(scramCtx.port, { version: 5 });
      c.send(connect({ version: 5, clientId: uid('m'), properties: authProps('GS2-KRB5', 'x') }));
      const connack = await c.expectPacket('connack');
      expect(connack.reasonCode).toBe(0x8c);
      await c.expectClose();
    });
  });

  describe('user name and password from the same credential store', () => {
    for (const version of [4, 5] as const) {
      it(`[MQTT-3.1.4-2] v${version}: the stored password is accepted (salted keys, no plain text kept)`, async () => {
        const c = await client(scramCtx.port, version, { username: 'alice', password: 'wonderland' });
        expect(c.connack?.reasonCode).toBe(0);
      });

      it(`[MQTT-3.2.2-6] v${version}: a wrong password is refused (5.0: 0x86, 3.1.1: 4)`, async () => {
        const c = await RawClient.connect(scramCtx.port, { version });
        c.send(connect({ version, clientId: uid('pw'), username: 'alice', password: 'nope' }));
        expect((await c.expectPacket('connack')).reasonCode).toBe(version === 5 ? 0x86 : 4);
        await c.expectClose();
      });

      it(`[MQTT-3.2.2-6] v${version}: no user name is refused (5.0: 0x87, 3.1.1: 5)`, async () => {
        const c = await RawClient.connect(scramCtx.port, { version });
        c.send(connect({ version, clientId: uid('anon') }));
        expect((await c.expectPacket('connack')).reasonCode).toBe(version === 5 ? 0x87 : 5);
        await c.expectClose();
      });
    }
  });

  describe('a pluggable AuthMethod', () => {
    it('[MQTT-4.12.0-2] an asynchronous custom method: challenge, answer, CONNACK with its data; its user name is the client user name', async () => {
      const c = await RawClient.connect(ctx.port, { version: 5 });
      c.send(connect({ version: 5, clientId: uid('x'), properties: authProps('X-CHALLENGE', 'hello') }));
      const challenge = await c.expectPacket('auth');
      expect(text(getProp(challenge.properties, Prop.AuthenticationData))).toBe('challenge:hello');
      c.send(auth({ reasonCode: 0x18, properties: authProps('X-CHALLENGE', 'answer') }));
      const connack = await c.expectPacket('connack');
      expect(connack.reasonCode).toBe(0);
      expect(text(getProp(connack.properties, Prop.AuthenticationData))).toBe('welcome');
    });

    it('[MQTT-4.12.0-4] a method failure with its own reason code (0x8A Banned) refuses the CONNECT', async () => {
      const c = await RawClient.connect(ctx.port, { version: 5 });
      c.send(connect({ version: 5, clientId: uid('x'), properties: authProps('X-CHALLENGE', 'banned') }));
      expect((await c.expectPacket('connack')).reasonCode).toBe(0x8a);
      await c.expectClose();
    });

    it('[MQTT-4.12.0-1] with custom methods only, SCRAM-SHA-256 is not offered (0x8C)', async () => {
      const c = await RawClient.connect(ctx.port, { version: 5 });
      c.send(connect({ version: 5, clientId: uid('x'), properties: authProps(SCRAM, 'n,,n=alice,r=abc') }));
      expect((await c.expectPacket('connack')).reasonCode).toBe(0x8c);
    });

    it('[§4.12] the connect timeout bounds an exchange the client never finishes', async () => {
      const broker = await startBroker({ connectTimeoutMs: 300, hato: { authMethods: [new ChallengeMethod()] } });
      try {
        const c = await RawClient.connect(broker.port, { version: 5 });
        c.send(connect({ version: 5, clientId: uid('slow'), properties: authProps('X-CHALLENGE', 'hello') }));
        await c.expectPacket('auth');
        await c.expectClose(3000);
      } finally {
        await broker.close();
      }
    });

    it('[§4.13] a broker shutting down during an exchange answers CONNACK 0x88 (0x8B is no CONNACK code) and closes', async () => {
      const broker = await startBroker({ hato: { authMethods: [new ChallengeMethod()] } });
      const c = await RawClient.connect(broker.port, { version: 5 });
      c.send(connect({ version: 5, clientId: uid('shut'), properties: authProps('X-CHALLENGE', 'hello') }));
      await c.expectPacket('auth');
      await broker.close();
      expect((await c.expectPacket('connack')).reasonCode).toBe(0x88);
      await c.expectClose();
    });

    it('[MQTT-3.1.2-30] SUBSCRIBE during the exchange is refused with CONNACK 0x82', async () => {
      const c = await RawClient.connect(ctx.port, { version: 5 });
      c.send(connect({ version: 5, clientId: uid('x'), properties: authProps('X-CHALLENGE', 'hello') }));
      await c.expectPacket('auth');
      c.send(subscribe({ version: 5, packetId: 1, subscriptions: [{ filter: 'a' }] }));
      expect((await c.expectPacket('connack')).reasonCode).toBe(0x82);
    });
  });
});
