/** The client acceptance suite against a real Mosquitto (TCP, TLS, WebSocket). */
import { describe, it } from 'vitest';
import { clientSuite } from './client-support/suite.js';
import { hasMosquitto, Mosquitto } from './client-support/mosquitto.js';

if (!hasMosquitto) {
  describe('client against mosquitto', () => {
    it.skip('skipped: /usr/sbin/mosquitto is not installed', () => {});
  });
} else {
  const m = new Mosquitto();
  clientSuite({
    name: 'mosquitto',
    start: async () => {
      await m.start();
    },
    dispose: () => m.dispose(),
    url: (t) =>
      t === 'tcp' ? `mqtt://127.0.0.1:${m.port}` : t === 'tls' ? `mqtts://localhost:${m.tlsPort}` : `ws://127.0.0.1:${m.wsPort}`,
    clientOptions: (t) => (t === 'tls' ? { ca: m.caPem } : {}),
    restart: () => m.restart(),
  });
}
