import { isValidTopicName } from '@hato/protocol';
import type { ResolvedOptions } from './options.js';

/** The broker's own limits on a topic name: `maxTopicLength` and `maxTopicLevels`. */
export function withinTopicLimits(options: ResolvedOptions, topic: string): boolean {
  if (topic.length > options.maxTopicLength) return false;
  let levels = 1;
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 0x2f && ++levels > options.maxTopicLevels) return false;
  return true;
}

/**
 * A topic name the broker accepts from a source the decoder has not checked (a will topic,
 * `broker.publish`): the spec's rules [MQTT-4.7.3-1/2] and the broker's limits.
 * Decoded PUBLISH topics already obey the spec; they need only `withinTopicLimits`.
 */
export function isAcceptableTopic(options: ResolvedOptions, topic: string): boolean {
  return isValidTopicName(topic) && withinTopicLimits(options, topic);
}
