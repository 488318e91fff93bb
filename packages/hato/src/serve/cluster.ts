import type { Broker, ClusterBus } from '@hato/broker';
import type { Logger } from 'pino';
import type { ClusterSpec } from '../config/cluster.js';
import { redactUrl } from '../config/redis-url.js';

/**
 * The cluster link of `hato broker --cluster`: the Redis bus (imported only when a cluster is
 * configured) and the log lines of its events. The bus does not connect here: the broker
 * starts it, and a node whose Redis is down still serves its local clients.
 */
export async function openClusterBus(spec: ClusterSpec, logger: Logger): Promise<ClusterBus> {
  const { RedisClusterBus } = await import('@hato/redis');
  return new RedisClusterBus({
    url: spec.url,
    ...(spec.prefix === undefined ? {} : { prefix: spec.prefix }),
    ...(spec.nodeId === undefined ? {} : { nodeId: spec.nodeId }),
    ...(spec.heartbeatMs === undefined ? {} : { heartbeatMs: spec.heartbeatMs }),
    ...(spec.deadAfterMs === undefined ? {} : { deadAfterMs: spec.deadAfterMs }),
    logger: logger.child({ cluster: redactUrl(spec.url) }),
  });
}

/** One line per cluster event: nodes joining and leaving (info), the Redis link down (warn) and back (info). */
export function logCluster(broker: Broker, logger: Logger): void {
  broker.on('nodeJoined', (nodeId) => logger.info({ nodeId, nodes: broker.cluster.nodes.length + 1 }, 'cluster node joined'));
  broker.on('nodeLeft', (nodeId, reason) => logger.info({ nodeId, reason, nodes: broker.cluster.nodes.length + 1 }, 'cluster node left'));
  broker.on('clusterDown', (err) =>
    logger.warn({ nodeId: broker.cluster.nodeId, err: err instanceof Error ? err.message : err }, 'cluster link down: serving local clients only until Redis is back'),
  );
  broker.on('clusterUp', () => logger.info({ nodeId: broker.cluster.nodeId, nodes: broker.cluster.nodes.length + 1 }, 'cluster link up'));
}
