export { RecordFormatError } from './codec.js';
export { bucketOf, DEFAULT_PREFIX, LAYOUT_VERSION, RETAINED_BUCKETS, redisKeys } from './keys.js';
export { type RedisDurability, RedisPersistence, type RedisPersistenceOptions, RedisStoreError, redactUrl } from './redis-persistence.js';
export { RedisClusterBus, type RedisClusterBusOptions } from './cluster-bus.js';
