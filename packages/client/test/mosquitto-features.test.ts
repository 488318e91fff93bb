/**
 * MQTT 5.0 features and error paths against a real Mosquitto: request/response, user
 * properties, topic aliases, async iteration, ACL refusals as typed errors, bad
 * credentials and session takeover (flat memory: memory.test.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hasMosquitto, Mosquitto } from '../../../interop/client-support/mosquitto.js';
import {
  ConnectError,
  connect,
  connectAsync,
  type MqttClient,
  PublishError,
} from '../src/node.js';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const text = new TextDecoder();

describe.skipIf(!hasMosquitto)('client features against mosquitto', () => {
  const m = new Mosquitto({ tls: false, websockets: false });
  const secured = new Mosquitto({
    tls: false,
    websockets: false,
    allowAnonymous: false,
    extraConfig: (dir) => {
      const passwords = join(dir, 'passwd');
      const acl = join(dir, 'acl');
      writeFileSync(passwords, '');
      execFileSync('mosquitto_passwd', ['-b', passwords, 'alice', 'secret']);
      writeFileSync(acl, 'user alice\ntopic readwrite open/#\n');
      return [`password_file ${passwords}`, `acl_file ${acl}`];
    },
  });
  const clients: MqttClient[] = [];
  let url = '';
  let securedUrl = '';
  beforeAll(async () => {
    await m.start();
    url = `mqtt://127.0.0.1:${m.port}`;
    await secured.start();
    securedUrl = `mqtt://127.0.0.1:${secured.port}`;
  });
  afterAll(async () => {
    await Promise.all([m.dispose(), secured.dispose()]);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end({ force: true })));
  });
  const open = async (options: Parameters<typeof connect>[1] = {}, target = url) => {
    const c = await connectAsync(target, options);
    clients.push(c);
    return c;
  };

  it('request() sends Response Topic + Correlation Data and resolves with the matching response', async () => {
    const responder = await open();
    responder.on('message', (_topic, payload, packet) => {
      const { responseTopic, correlationData } = packet.properties ?? {};
      if (responseTopic === undefined) return;
      void responder.publish(responseTopic, `echo: ${text.decode(payload)}`, {
        properties: correlationData ? { correlationData } : {},
      });
    });
    await responder.subscribe('svc/echo');
    const requester = await open();
    const [a, b] = await Promise.all([requester.request('svc/echo', '一'), requester.request('svc/echo', '二')]);
    expect(text.decode(a.payload)).toBe('echo: 一');
    expect(text.decode(b.payload)).toBe('echo: 二');
    expect(requester.debugCounts().requests).toBe(0);
  });

  it('MQTT 3.1 (MQIsdp, level 3) round trip at QoS 2', async () => {
    const c = await open({ protocolVersion: 3, clientId: 'v31-client' });
    const got = new Promise<string>((resolve) => c.on('message', (_t, p) => resolve(text.decode(p))));
    await c.subscribe('v31/t', { qos: 2 });
    await c.publish('v31/t', 'старый протокол', { qos: 2 });
    expect(await got).toBe('старый протокол');
  });

  it('user properties round trip in order', async () => {
    const sub = await open();
    const got = new Promise<unknown>((resolve) => sub.on('message', (_t, _p, packet) => resolve(packet.properties)));
    await sub.subscribe('props/t');
    const pub = await open();
    await pub.publish('props/t', 'x', {
      qos: 1,
      properties: { userProperties: [['a', '1'], ['日本', '語'], ['a', '2']], contentType: 'text/plain' },
    });
    expect(await got).toMatchObject({ userProperties: [['a', '1'], ['日本', '語'], ['a', '2']], contentType: 'text/plain' });
  });

  it('topic aliases are used on repeated topics within the server maximum, and the subscriber sees full topics', async () => {
    const sub = await open();
    const topics: string[] = [];
    sub.on('message', (topic) => topics.push(topic));
    await sub.subscribe('alias/#');
    const pub = await open();
    const sent: { topic: string; alias: number | undefined }[] = [];
    pub.on('packetsend', (p) => {
      if (p.type === 'publish') sent.push({ topic: p.topic, alias: p.properties?.topicAlias });
    });
    for (let i = 0; i < 3; i++) await pub.publish('alias/one', `${i}`, { qos: 1 });
    expect(sent[0]).toEqual({ topic: 'alias/one', alias: 1 });
    expect(sent[1]).toEqual({ topic: '', alias: 1 });
    expect(sent[2]).toEqual({ topic: '', alias: 1 });
    await new Promise((r) => setTimeout(r, 100));
    expect(topics).toEqual(['alias/one', 'alias/one', 'alias/one']);
  });

  it('for await over client.subscription() yields matching messages; break unsubscribes', async () => {
    const c = await open();
    const stream = c.subscription('iter/+', { qos: 1 });
    await stream.ready;
    for (let i = 0; i < 3; i++) await c.publish(`iter/${i}`, `v${i}`, { qos: 1 });
    const seen: string[] = [];
    for await (const msg of stream) {
      seen.push(`${msg.topic}=${text.decode(msg.payload)}`);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(['iter/0=v0', 'iter/1=v1', 'iter/2=v2']);
    expect(c.debugCounts().streams).toBe(0);
    // Unsubscribed: a new publish no longer comes back.
    let more = 0;
    c.on('message', () => more++);
    await new Promise((r) => setTimeout(r, 50));
    await c.publish('iter/9', 'late', { qos: 1 });
    await new Promise((r) => setTimeout(r, 100));
    expect(more).toBe(0);
  });

  // Mosquitto 2.0.11 grants a SUBSCRIBE its ACL denies (it filters delivery instead), so
  // SUBACK refusals are covered with the scripted server in flows.test.ts.
  it('ACL refusal of a QoS 1 PUBLISH rejects with PublishError 0x87', async () => {
    const c = await open({ username: 'alice', password: 'secret' }, securedUrl);
    await expect(c.publish('open/x', 'yes', { qos: 1 })).resolves.toMatchObject({ type: 'puback' });
    const perr = await c.publish('closed/x', 'no', { qos: 1 }).catch((e: unknown) => e);
    expect(perr).toBeInstanceOf(PublishError);
    expect((perr as PublishError).reasonCode).toBe(0x87);
    expect((perr as PublishError).message).toBe("Publish to 'closed/x' refused: Not authorized (0x87)");
  });

  it('bad credentials: ConnectError with the server code (mosquitto: 0x87 in 5.0, 5 in 3.1.1), no retry', async () => {
    const c5 = connect(securedUrl, { username: 'alice', password: 'wrong' });
    clients.push(c5);
    const e5 = (await c5.connected().catch((e: unknown) => e)) as ConnectError;
    expect(e5).toBeInstanceOf(ConnectError);
    expect(e5.message).toBe('Connection refused: Not authorized (0x87)');
    const c3 = connect(securedUrl, { username: 'alice', password: 'wrong', protocolVersion: 4 });
    clients.push(c3);
    const e3 = (await c3.connected().catch((e: unknown) => e)) as ConnectError;
    expect(e3.reasonCode).toBe(5);
    expect(c3.state.status).toBe('closed');
    const ok = await open({ username: 'alice', password: 'secret' }, securedUrl);
    expect(ok.state.status).toBe('connected');
  });
});
