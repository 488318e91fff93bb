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

  constructor(maximum: number) {
    this.maximum = Number.isInteger(maximum) && maximum > 0 ? Math.min(maximum, 65_535) : 0;
  }

  /** Alias to use for `topic`; undefined when aliases are disabled (maximum 0) or topic is ''. */
  lookup(topic: string): AliasLookup | undefined {
    if (this.maximum === 0 || topic.length === 0) return undefined;
    const known = this.aliases.get(topic);
    if (known !== undefined) {
      // Refresh recency: move to the end of the Map.
      this.aliases.delete(topic);
      this.aliases.set(topic, known);
      return { alias: known, isNew: false };
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
    return { alias, isNew: true };
  }

  /** Forgets every mapping (new network connection [MQTT-3.3.2-7]). */
  reset(): void {
    this.aliases.clear();
  }
}

export class TopicAliasReceiver {
  readonly maximum: number;
  private topics: (string | undefined)[] = [];

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
  }
}
