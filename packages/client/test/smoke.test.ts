import { afterAll, beforeAll, expect, it } from 'vitest';
import { Mosquitto } from '../../../interop/client-support/mosquitto.js';
import { connectAsync } from '../src/node.js';

let m: Mosquitto;
beforeAll(async () => {
  m = await new Mosquitto().start();
});
afterAll(async () => {
  await m?.dispose();
});

it('smoke', async () => {
  for (const url of [`mqtt://127.0.0.1:${m.port}`, `ws://127.0.0.1:${m.wsPort}`, `mqtts://localhost:${m.tlsPort}`]) {
    const c = await connectAsync(url, { ca: m.caPem });
    const got = new Promise<string>((r) => c.on('message', (t, p) => r(`${t} ${new TextDecoder().decode(p)}`)));
    await c.subscribe('a/#', { qos: 2 });
    await c.publish('a/b', 'こんにちは', { qos: 2 });
    expect(await got).toBe('a/b こんにちは');
    await c.end();
  }
});
