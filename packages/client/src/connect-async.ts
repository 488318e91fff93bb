import type { MqttClient } from './client.js';

/** Waits for the client's first CONNACK; if it never comes, closes the client and rethrows. */
export async function connectedOrClosed(client: MqttClient): Promise<MqttClient> {
  try {
    await client.connected();
  } catch (err) {
    await client.end({ force: true });
    throw err;
  }
  return client;
}
