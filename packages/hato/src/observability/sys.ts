import { readFileSync } from 'node:fs';
import type { Broker } from '@hato/broker';

/**
 * `$SYS/broker/...` topics, Mosquitto's names where it has one, published retained (QoS 0)
 * by the broker itself every `intervalSeconds`, only when the value changed. Subscribers get
 * them through the ordinary path, so an ACL decides who may read them (`topic read $SYS/#`).
 *
 * | Topic | Value |
 * | --- | --- |
 * | version | `hato <version>` |
 * | uptime | `<n> seconds` since startSys |
 * | clients/connected, clients/disconnected, clients/total, clients/maximum | connected now; persistent sessions offline; both; most connected at once |
 * | publish/messages/received, publish/messages/sent | PUBLISH packets from / to clients |
 * | publish/messages/dropped | messages dropped by the slow-consumer, queue and memory policies |
 * | bytes/received, bytes/sent | bytes read from / written to client streams |
 * | load/publish/received/{1min,5min,15min} (also sent), load/bytes/received/... (also sent), load/connections/... | per-minute rates, exponentially averaged over 1, 5 and 15 minutes (as Mosquitto) |
 * | subscriptions/count | subscriptions of all sessions |
 * | retained messages/count | retained topics |
 * | heap/current, heap/maximum | V8 heap used, bytes (now; most seen) |
 *
 * Mosquitto's `messages/received|sent` count packets of every type; hato counts PUBLISH
 * packets only, so it publishes them under Mosquitto's `publish/messages/...` names.
 */
export interface SysOptions {
  /** Seconds between updates (default 10, Mosquitto's sys_interval). */
  intervalSeconds?: number;
}

const WINDOWS = [1, 5, 15] as const;

/** An exponentially averaged per-minute rate of a counter, as Mosquitto's load figures. */
class Load {
  private last: number;
  readonly values = [0, 0, 0];

  constructor(initial: number) {
    this.last = initial;
  }

  update(counter: number, seconds: number): void {
    const perMinute = ((counter - this.last) * 60) / seconds;
    this.last = counter;
    for (let i = 0; i < WINDOWS.length; i++) {
      const decay = Math.exp(-seconds / (WINDOWS[i]! * 60));
      this.values[i] = perMinute + decay * (this.values[i]! - perMinute);
    }
  }
}

export function hatoVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Totals the $SYS tree and the /metrics endpoint share. */
export function brokerFigures(broker: Broker) {
  const metrics = broker.metrics;
  const sessions = broker.sessions.size;
  return {
    clientsConnected: metrics.clientsConnected,
    clientsMaximum: metrics.clientsMaximum,
    sessions,
    messagesReceived: metrics.messagesReceived,
    messagesSent: metrics.messagesSent,
    bytesReceived: metrics.bytesReceived,
    bytesSent: metrics.bytesSent,
    dropped: broker.delivery.dropped + broker.memory.droppedQoS0,
    subscriptions: broker.router.trie.size,
    retained: broker.retained.size,
  };
}

export function startSys(broker: Broker, options: SysOptions = {}): { stop(): void } {
  const intervalSeconds = options.intervalSeconds ?? 10;
  const started = Date.now();
  const published = new Map<string, string>();
  const metrics = broker.metrics;
  let connections = 0;
  const onConnected = (): void => {
    connections++;
  };
  broker.on('clientConnected', onConnected);
  const loads = {
    'publish/received': new Load(metrics.messagesReceived),
    'publish/sent': new Load(metrics.messagesSent),
    'bytes/received': new Load(metrics.bytesReceived),
    'bytes/sent': new Load(metrics.bytesSent),
    connections: new Load(0),
  };
  let heapMaximum = 0;
  let lastTick = Date.now();
  const version = `hato ${hatoVersion()}`;

  const set = (topic: string, value: string | number): void => {
    const text = String(value);
    const full = `$SYS/broker/${topic}`;
    if (published.get(full) === text) return;
    published.set(full, text);
    broker.publish({ topic: full, payload: text, qos: 0, retain: true });
  };

  const tick = (): void => {
    const now = Date.now();
    const figures = brokerFigures(broker);
    const heap = process.memoryUsage().heapUsed;
    if (heap > heapMaximum) heapMaximum = heap;
    set('version', version);
    set('uptime', `${Math.floor((now - started) / 1000)} seconds`);
    set('clients/connected', figures.clientsConnected);
    set('clients/disconnected', Math.max(0, figures.sessions - figures.clientsConnected));
    set('clients/total', Math.max(figures.sessions, figures.clientsConnected));
    set('clients/maximum', figures.clientsMaximum);
    set('publish/messages/received', figures.messagesReceived);
    set('publish/messages/sent', figures.messagesSent);
    set('publish/messages/dropped', figures.dropped);
    set('bytes/received', figures.bytesReceived);
    set('bytes/sent', figures.bytesSent);
    set('subscriptions/count', figures.subscriptions);
    set('retained messages/count', figures.retained);
    set('heap/current', heap);
    set('heap/maximum', heapMaximum);
    const seconds = (now - lastTick) / 1000;
    if (seconds > 0) {
      lastTick = now;
      loads['publish/received'].update(figures.messagesReceived, seconds);
      loads['publish/sent'].update(figures.messagesSent, seconds);
      loads['bytes/received'].update(figures.bytesReceived, seconds);
      loads['bytes/sent'].update(figures.bytesSent, seconds);
      loads.connections.update(connections, seconds);
      for (const [name, load] of Object.entries(loads)) {
        for (let i = 0; i < WINDOWS.length; i++) set(`load/${name}/${WINDOWS[i]}min`, load.values[i]!.toFixed(2));
      }
    }
  };

  // A timer callback must never throw (it would end the process): a failed update is logged.
  const safeTick = (): void => {
    try {
      tick();
    } catch (err) {
      broker.options.logger.error({ err }, '$SYS update failed');
    }
  };
  safeTick();
  const timer = setInterval(safeTick, intervalSeconds * 1000);
  timer.unref(); // the listeners keep the process alive, not this
  return {
    stop() {
      clearInterval(timer);
      broker.off('clientConnected', onConnected);
    },
  };
}
