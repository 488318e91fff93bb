import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Broker } from '@hato/broker';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { brokerFigures } from './sys.js';

/**
 * The admin HTTP listener: `GET /metrics` (Prometheus text format), `GET /healthz` (200 while
 * the process runs), `GET /readyz` (200 once `isReady()` and, in a cluster, while the link to
 * the other nodes is up; else 503 and why). Binds to loopback unless `host` says otherwise:
 * the figures are for the operator, not the network.
 */
export interface AdminOptions {
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** True once the listeners and the persistence are up. */
  isReady: () => boolean;
  /** Per-listener open connections (`hato_listener_connections{listener}`), when the caller has them. */
  listeners?: () => Iterable<{ readonly name: string; readonly connections: number }>;
  /** In a cluster: the link status (`broker.cluster`), for /readyz and `hato_cluster_up` / `hato_cluster_nodes`. */
  cluster?: () => ClusterLink;
}

/** What the admin listener reads of `broker.cluster`. */
export interface ClusterLink {
  readonly up: boolean;
  /** The other live nodes. */
  readonly nodes: readonly string[];
}

export interface AdminServer {
  readonly port: number;
  /** The address it is bound to. */
  readonly host: string;
  readonly registry: Registry;
  close(): Promise<void>;
}

export async function startAdmin(broker: Broker, options: AdminOptions): Promise<AdminServer> {
  const registry = metricsRegistry(broker, options.listeners, options.cluster);
  const readiness = (): string | undefined => {
    if (!options.isReady()) return 'not ready';
    if (options.cluster !== undefined && !options.cluster().up) return 'not ready: the cluster link (Redis) is down; serving local clients only';
    return undefined;
  };
  const server = createServer((request, response) => {
    handle(request, response, registry, readiness).catch((err: unknown) => {
      broker.options.logger.error({ err }, 'admin request failed');
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    host: (server.address() as AddressInfo).address,
    registry,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** `readiness()`: undefined when ready, else why not (the /readyz body). */
async function handle(request: IncomingMessage, response: ServerResponse, registry: Registry, readiness: () => string | undefined): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (path === '/metrics') {
    const text = await registry.metrics();
    response.writeHead(200, { 'content-type': registry.contentType }).end(text);
  } else if (path === '/healthz') response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
  else if (path === '/readyz') {
    const problem = readiness();
    response.writeHead(problem === undefined ? 200 : 503, { 'content-type': 'text/plain' }).end(`${problem ?? 'ready'}\n`);
  } else response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
}

/** A registry of its own (not prom-client's global one), read from the broker at each scrape. */
export function metricsRegistry(broker: Broker, listeners?: AdminOptions['listeners'], cluster?: AdminOptions['cluster']): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hato_' });
  const figures = () => brokerFigures(broker);
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  };
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  };
  const metrics = broker.metrics;
  counter('hato_messages_received_total', 'PUBLISH packets received from clients', () => metrics.messagesReceived);
  counter('hato_messages_sent_total', 'PUBLISH packets sent to clients', () => metrics.messagesSent);
  counter('hato_bytes_received_total', 'Bytes read from client connections', () => metrics.bytesReceived);
  counter('hato_bytes_sent_total', 'Bytes written to client connections', () => metrics.bytesSent);
  gauge('hato_clients_connected', 'Clients connected now', () => metrics.clientsConnected);
  gauge('hato_clients_maximum', 'Most clients connected at once since start', () => metrics.clientsMaximum);
  gauge('hato_sessions', 'Sessions, connected or not', () => figures().sessions);
  gauge('hato_connections', 'Open connections (any state)', () => broker.connectionCount);
  gauge('hato_subscriptions', 'Subscriptions of all sessions', () => figures().subscriptions);
  gauge('hato_retained_messages', 'Retained topics', () => figures().retained);
  counter('hato_messages_dropped_total', 'Messages dropped by the slow-consumer and session queue policies', () => broker.delivery.dropped);
  counter('hato_memory_dropped_qos0_total', 'QoS 0 deliveries dropped over the memory budget', () => broker.memory.droppedQoS0);
  counter('hato_memory_refused_publishes_total', 'QoS 1/2 PUBLISH refused over the memory budget', () => broker.memory.refusedPublishes);
  counter('hato_memory_read_holds_total', 'Publishers paused by the memory budget', () => broker.memory.readHolds);
  gauge('hato_memory_used_bytes', 'Message bytes the broker holds (queues, in flight, unwritten, retained)', () => broker.memory.snapshot().usedBytes);
  gauge('hato_memory_limit_bytes', 'The memory budget (maxMemoryBytes)', () => broker.memory.snapshot().limit);
  if (cluster !== undefined) {
    gauge('hato_cluster_up', 'The link to the other cluster nodes (Redis): 1 up, 0 down', () => (cluster().up ? 1 : 0));
    gauge('hato_cluster_nodes', 'Live cluster nodes this node sees, itself included', () => cluster().nodes.length + 1);
  }
  counter('hato_internal_errors_total', 'Connections closed because the broker failed while serving them', () => metrics.internalErrors);
  counter('hato_persistence_errors_total', 'Persistence writes that failed', () => metrics.persistenceErrors);
  counter('hato_aborted_connections_total', 'Connections destroyed because closing them failed', () => metrics.abortedConnections);
  new Counter({
    name: 'hato_connection_errors_total',
    help: 'Connections closed by the broker because of an error, by reason code',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(metrics.closedByReasonCode())) this.inc({ reason }, n);
    },
  });
  if (listeners !== undefined) {
    new Gauge({
      name: 'hato_listener_connections',
      help: 'Open connections per listener',
      labelNames: ['listener'],
      registers: [registry],
      collect() {
        this.reset();
        for (const listener of listeners()) this.set({ listener: listener.name }, listener.connections);
      },
    });
  }
  return registry;
}
