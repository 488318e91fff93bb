// broker.metrics traffic counters against what the sockets themselves counted, and the
// authorizeDelivery hook (checked per subscriber at delivery). Raw sockets, the testkit's
// own packet builder; 3.1.1 and 5.0.
import type { Socket } from 'node:net';
import { Broker } from '@hato/broker';
import { connectAndHandshake, RawClient } from '@hato/testkit';
import { afterEach, describe, expect, it } from 'vitest';

afterEach(() => RawClient.destroyAll());

describe.each([4, 5] as const)('MQTT level %i', (version) => {
  it('bytes and PUBLISH packets received/sent and clients connected/maximum are the real figures; authorizeDelivery drops per subscriber', async () => {
    const broker = new Broker({
      hooks: { authorizeDelivery: (client, topic) => !(client.id === 'blocked' && topic === 'x/secret') },
    });
    try {
      const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
      const open = await connectAndHandshake(port, { version, clientId: 'open' });
      const blocked = await connectAndHandshake(port, { version, clientId: 'blocked' });
      const publisher = await connectAndHandshake(port, { version, clientId: 'publisher' });
      await open.subscribe('x/#');
      await blocked.subscribe('x/#');
      for (const topic of ['x/a', 'x/secret', 'x/b']) publisher.publish({ topic, payload: topic });
      expect((await open.expectPublishes(3)).map((p) => p.topic)).toEqual(['x/a', 'x/secret', 'x/b']);
      expect((await blocked.expectPublishes(2)).map((p) => p.topic)).toEqual(['x/a', 'x/b']);

      const metrics = broker.metrics;
      expect(metrics.messagesReceived).toBe(3);
      expect(metrics.messagesSent).toBe(5);
      expect(metrics.clientsConnected).toBe(3);
      expect(metrics.clientsMaximum).toBe(3);
      const sockets = [open, blocked, publisher].map((c) => c.stream as Socket);
      const written = sockets.reduce((n, s) => n + s.bytesWritten, 0);
      const read = sockets.reduce((n, s) => n + s.bytesRead, 0);
      expect(metrics.bytesReceived).toBe(written);
      expect(metrics.bytesSent).toBe(read);

      publisher.disconnect();
      await expect.poll(() => metrics.clientsConnected).toBe(2);
      expect(metrics.clientsMaximum).toBe(3);
    } finally {
      await broker.close();
    }
  });
});
