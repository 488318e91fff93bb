/**
 * Topic aliases (5.0 spec 3.3.2.3.4). The sender maps topics to aliases up to the peer's
 * Topic Alias Maximum, replacing the least recently used mapping when all are taken; the
 * receiver resolves incoming aliases within its own maximum.
 */
import { MqttError, ProtocolError } from '../errors.js';
import { ReasonCode } from '../reason-codes.js';

export interface AliasLookup {
  alias: number;
  /** true: send topic and alias (sets the mapping); false: send '' and the alias. */
  isNew: boolean;
}

export class TopicAliasSender {
  readonly maximum: number;
  /** topic → alias; Map iteration order is the recency order (oldest first). */
  private readonly aliases = new Map<string, number>();
  /** The most recently used mapping (the last entry of `aliases`), '' when none. */
  private lastTopic = '';
  private lastAlias = 0;

  constructor(maximum: number) {
    this.maximum = Number.isInteger(maximum) && maximum > 0 ? Math.min(maximum, 65_535) : 0;
  }

  /** Alias to use for `topic`; undefined when aliases are disabled (maximum 0) or topic is ''. */
  lookup(topic: string): AliasLookup | undefined {
    const a = this.aliasFor(topic);
    if (a === 0) return undefined;
    return a > 0 ? { alias: a, isNew: false } : { alias: -a, isNew: true };
  }

  /**
   * `lookup` without allocating, for hot paths: a positive alias for a known topic (send ''
   * and the alias), the negated alias of a new mapping (send the topic and the alias), 0 when
   * aliases are disabled or topic is ''. The same topic as last time costs one comparison.
   */
  aliasFor(topic: string): number {
    if (this.maximum === 0 || topic.length === 0) return 0;
    if (topic === this.lastTopic) return this.lastAlias; // already the most recent entry
    const known = this.aliases.get(topic);
    if (known !== undefined) {
      // Refresh recency: move to the end of the Map.
      this.aliases.delete(topic);
      this.aliases.set(topic, known);
      this.lastTopic = topic;
      this.lastAlias = known;
      return known;
    }
    let alias: number;
    if (this.aliases.size < this.maximum) {
      alias = this.aliases.size + 1;
    } else {
      // Replace the least recently used mapping.
      const oldest = this.aliases.entries().next().value!;
      this.aliases.delete(oldest[0]);
      alias = oldest[1];
    }
    this.aliases.set(topic, alias);
    this.lastTopic = topic;
    this.lastAlias = alias;
    return -alias;
  }

  /** Forgets every mapping (new network connection [MQTT-3.3.2-7]). */
  reset(): void {
    this.aliases.clear();
    this.lastTopic = '';
    this.lastAlias = 0;
  }
}

export class TopicAliasReceiver {
  readonly maximum: number;
  private topics: (string | undefined)[] = [];
  /** Total length of the topics mapped now: what the mappings hold (a broker charges it to a budget). */
  bytes = 0;

  constructor(maximum: number) {
    this.maximum = Number.isInteger(maximum) && maximum > 0 ? Math.min(maximum, 65_535) : 0;
  }

  /**
   * Topic of an incoming PUBLISH. Throws MqttError 0x94 Topic Alias invalid for alias 0 or
   * above the maximum [MQTT-3.3.2-9] [MQTT-3.3.2-10], ProtocolError for an empty topic
   * with no alias or with an alias never set (spec 3.3.2.3.4).
   */
  resolve(topic: string, alias: number | undefined): string {
    if (alias === undefined) {
      if (topic.length === 0) throw new ProtocolError('PUBLISH with an empty topic name and no topic alias');
      return topic;
    }
    if (!Number.isInteger(alias) || alias < 1 || alias > this.maximum) {
      throw new MqttError(ReasonCode.TopicAliasInvalid, `topic alias ${alias} outside 1..${this.maximum}`);
    }
    if (topic.length > 0) {
      this.bytes += topic.length - (this.topics[alias]?.length ?? 0);
      this.topics[alias] = topic;
      return topic;
    }
    const known = this.topics[alias];
    if (known === undefined) throw new ProtocolError(`topic alias ${alias} used before it was set`);
    return known;
  }

  /** Forgets every mapping (new network connection). */
  reset(): void {
    this.topics = [];
    this.bytes = 0;
  }
}
