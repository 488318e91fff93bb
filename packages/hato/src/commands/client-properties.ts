/**
 * `-D command identifier value`: MQTT 5.0 properties by their spec names, as
 * mosquitto_pub / mosquitto_sub accept them.
 */
import type { Properties } from '@hato/protocol';
import { type PropertyArg, UsageError } from './client-args.js';

type Kind = 'byte' | 'u16' | 'u32' | 'varint' | 'string' | 'binary' | 'bool' | 'pair';

const table: Record<string, { name: keyof Properties; kind: Kind; commands: string[] }> = {
  'payload-format-indicator': { name: 'payloadFormatIndicator', kind: 'byte', commands: ['publish', 'will'] },
  'message-expiry-interval': { name: 'messageExpiryInterval', kind: 'u32', commands: ['publish', 'will'] },
  'content-type': { name: 'contentType', kind: 'string', commands: ['publish', 'will'] },
  'response-topic': { name: 'responseTopic', kind: 'string', commands: ['publish', 'will'] },
  'correlation-data': { name: 'correlationData', kind: 'binary', commands: ['publish', 'will'] },
  'subscription-identifier': { name: 'subscriptionIdentifiers', kind: 'varint', commands: ['subscribe'] },
  'session-expiry-interval': { name: 'sessionExpiryInterval', kind: 'u32', commands: ['connect', 'disconnect'] },
  'authentication-method': { name: 'authenticationMethod', kind: 'string', commands: ['connect'] },
  'authentication-data': { name: 'authenticationData', kind: 'binary', commands: ['connect'] },
  'request-problem-information': { name: 'requestProblemInformation', kind: 'bool', commands: ['connect'] },
  'will-delay-interval': { name: 'willDelayInterval', kind: 'u32', commands: ['will'] },
  'request-response-information': { name: 'requestResponseInformation', kind: 'bool', commands: ['connect'] },
  'receive-maximum': { name: 'receiveMaximum', kind: 'u16', commands: ['connect'] },
  'topic-alias-maximum': { name: 'topicAliasMaximum', kind: 'u16', commands: ['connect'] },
  'maximum-packet-size': { name: 'maximumPacketSize', kind: 'u32', commands: ['connect'] },
  'topic-alias': { name: 'topicAlias', kind: 'u16', commands: ['publish'] },
  'user-property': {
    name: 'userProperties',
    kind: 'pair',
    commands: ['connect', 'publish', 'subscribe', 'unsubscribe', 'disconnect', 'will'],
  },
};

const limits: Partial<Record<Kind, number>> = { byte: 0xff, u16: 0xffff, u32: 0xffffffff, varint: 268_435_455 };

function number(raw: string, kind: Kind, identifier: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > limits[kind]!) throw new UsageError(`Invalid value '${raw}' for ${identifier}.`);
  return n;
}

/** Groups `-D` arguments per command (connect, publish, subscribe, ...). */
export function buildProperties(args: PropertyArg[]): Record<string, Properties> {
  const out: Record<string, Properties> = {};
  for (const { command, identifier, values } of args) {
    const def = table[identifier];
    if (def === undefined) throw new UsageError(`Invalid property identifier '${identifier}'.`);
    if (!def.commands.includes(command))
      throw new UsageError(`Property '${identifier}' not allowed for command '${command}'.`);
    const props = (out[command] ??= {}) as Record<string, unknown>;
    const raw = values[0]!;
    switch (def.kind) {
      case 'pair':
        ((props.userProperties ??= []) as [string, string][]).push([raw, values[1]!]);
        break;
      case 'string':
        props[def.name] = raw;
        break;
      case 'binary':
        props[def.name] = new TextEncoder().encode(raw);
        break;
      case 'bool':
        props[def.name] = number(raw, 'byte', identifier) !== 0;
        break;
      case 'varint':
        props[def.name] = [number(raw, 'varint', identifier)];
        break;
      default:
        props[def.name] = number(raw, def.kind, identifier);
    }
  }
  return out;
}
