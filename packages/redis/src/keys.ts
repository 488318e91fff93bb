/**
 * The key layout (the README documents it). Every key starts with the prefix; a key that
 * holds one session's data ends with its client id, after a kind that no other kind starts
 * with, so no client id can make two keys collide.
 */

export const DEFAULT_PREFIX = 'hato:';

/** Bumped when the layout changes incompatibly; stored in `<prefix>meta`. */
export const LAYOUT_VERSION = 1;

/** Retained messages are spread over this many hashes, scanned in parallel at load. */
export const RETAINED_BUCKETS = 64;

/** The retained bucket of a topic: FNV-1a (32 bit) of its UTF-16 code units, modulo RETAINED_BUCKETS. */
export function bucketOf(topic: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < topic.length; i++) {
    hash ^= topic.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % RETAINED_BUCKETS;
}

export function redisKeys(prefix: string) {
  return {
    /** HASH layout, retainedBuckets. */
    meta: `${prefix}meta`,
    /** SET of the client ids that have a persistent session. */
    sessions: `${prefix}sessions`,
    /** ZSET client id → epoch ms its disconnected session expires (only disconnected sessions with a finite expiry). */
    expiry: `${prefix}expiry`,
    /** ZSET client id → epoch ms its will is due. */
    wills: `${prefix}wills`,
    /** HASH topic → retained message, bucket 0..RETAINED_BUCKETS-1. */
    retained: (bucket: number) => `${prefix}retained:${bucket}`,
    /** HASH x (expiry interval s), d (disconnected at, epoch ms; 0 connected), w (waiting will). */
    session: (clientId: string) => `${prefix}session:${clientId}`,
    /** HASH topic filter → subscription. */
    subs: (clientId: string) => `${prefix}subs:${clientId}`,
    /** HASH seq → queued or in-flight message (as recorded). */
    msgs: (clientId: string) => `${prefix}msgs:${clientId}`,
    /** HASH seq → "packetId:state" once the message moved on after it was recorded. */
    msgState: (clientId: string) => `${prefix}msgstate:${clientId}`,
    /** SET of incoming QoS 2 packet ids not yet released. */
    qos2: (clientId: string) => `${prefix}qos2:${clientId}`,
  };
}
