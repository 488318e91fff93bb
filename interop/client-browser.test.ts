/**
 * The browser bundle in real headless Chromium: the test builds
 * packages/client/bundle/hato-client.min.js, serves it with examples/browser/index.html
 * from a tiny HTTP server, and drives the page (connect over WebSocket to a real broker,
 * subscribe, publish, receive), asserting on the DOM text.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Broker } from '@hato/broker';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAsync } from '../packages/client/src/node.js';
import { hasMosquitto, Mosquitto } from './client-support/mosquitto.js';

const CHROMIUM = '/usr/bin/chromium';
const root = join(import.meta.dirname, '..');
const bundlePath = join(root, 'packages/client/bundle/hato-client.min.js');
const pagePath = join(root, 'examples/browser/index.html');
const hasChromium = existsSync(CHROMIUM);

function serve(): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(readFileSync(pagePath));
    } else if (path === '/hato-client.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(readFileSync(bundlePath));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

interface BrowserBroker {
  name: string;
  /** Starts the broker; returns its WebSocket URL (for the page) and TCP URL (for Node). */
  start(): Promise<{ ws: string; tcp: string }>;
  dispose(): Promise<void>;
}

function browserSuite(broker: BrowserBroker): void {
  describe.skipIf(!hasChromium)(`browser client (headless Chromium) against ${broker.name}`, () => {
    let browser: Browser;
    let server: Server;
    let wsUrl: string;
    let tcpUrl: string;
    beforeAll(async () => {
      execFileSync(process.execPath, [join(root, 'packages/client/scripts/bundle.js')], { stdio: 'pipe' });
      ({ ws: wsUrl, tcp: tcpUrl } = await broker.start());
      server = await serve();
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
          '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await new Promise((r) => server?.close(r));
      await broker.dispose();
    });

    it('the example page connects over WebSocket, subscribes, publishes and shows messages', async () => {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const { port } = server.address() as { port: number };
      await page.goto(`http://127.0.0.1:${port}/?url=${encodeURIComponent(wsUrl)}`);
      await page.locator('#status', { hasText: /^connected$/ }).waitFor({ timeout: 10_000 });
      await page.click('#subscribe');
      await page.locator('#messages li', { hasText: 'subscribed hello/# (QoS 1)' }).waitFor();
      // From the page to itself.
      await page.click('#publish');
      await page.locator('#messages li', { hasText: 'hello/world こんにちは' }).waitFor();
      await page.locator('#messages li', { hasText: 'published hello/world' }).waitFor();
      // From the page to Node, and from Node to the page.
      const node = await connectAsync(tcpUrl);
      const fromPage = new Promise<string>((resolve) =>
        node.on('message', (topic, payload) => resolve(`${topic} ${new TextDecoder().decode(payload)}`)),
      );
      await node.subscribe('hello/#', { qos: 1 });
      await page.fill('#payload', 'ブラウザから');
      await page.click('#publish');
      expect(await fromPage).toBe('hello/world ブラウザから');
      await node.publish('hello/node', 'Nodeから 🌸', { qos: 1 });
      await page.locator('#messages li', { hasText: 'hello/node Nodeから 🌸' }).waitFor();
      await node.end();
      const texts = await page.locator('#messages li').allTextContents();
      expect(texts.filter((t) => !t.startsWith('published')).sort()).toEqual(
        ['subscribed hello/# (QoS 1)', 'hello/world こんにちは', 'hello/world ブラウザから', 'hello/node Nodeから 🌸'].sort(),
      );
      expect(errors).toEqual([]);
      await page.close();
    });
  });
}

if (!hasChromium) {
  describe('browser client', () => {
    it.skip(`skipped: ${CHROMIUM} is not installed`, () => {});
  });
}

if (hasMosquitto) {
  const m = new Mosquitto({ tls: false });
  browserSuite({
    name: 'mosquitto',
    start: async () => {
      await m.start();
      return { ws: `ws://127.0.0.1:${m.wsPort}/mqtt`, tcp: `mqtt://127.0.0.1:${m.port}` };
    },
    dispose: () => m.dispose(),
  });
}

{
  const broker = new Broker();
  browserSuite({
    name: 'hato',
    start: async () => {
      const tcp = await broker.listen({ port: 0, host: '127.0.0.1' });
      const ws = await broker.listenWebSocket({ port: 0, host: '127.0.0.1' });
      return { ws: `ws://127.0.0.1:${ws.port}/mqtt`, tcp: `mqtt://127.0.0.1:${tcp.port}` };
    },
    dispose: () => broker.close(),
  });
}
