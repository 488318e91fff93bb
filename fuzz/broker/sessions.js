// Valid MQTT sessions as packet specs ({ kind, opts }), built into bytes with the testkit's
// own builder (not @hato/protocol's encoder, so the fuzzer does not share the codec's bugs).
import * as build from '@hato/testkit';

const { Prop } = build;

export const TOPICS = ['a', 'a/b', 'a/b/c', 'fz/x', 'fz/y', 'r/1', '/', 'a//b', 'ü/ñ', '$SYS/x', 'z', 'hook/throw', 'hook/reject', 'hook/async', 'persist-throw', 'persist-reject', 'hook/deliver-throw', 'hook/deliver-deny'];
export const FILTERS = ['#', '+', 'a/#', 'a/+', '+/+/c', 'fz/#', 'a/b', 'r/1', '$share/g/a/#', '$share/g/fz/x', '$share/h/#', '$share/t/a/#', '$share/t/hook/#', '$SYS/#', '+/#', 'hook/throw', 'hook/reject', 'hook/async', 'hook/deny'];
export const BAD_FILTERS = ['a/#/b', 'a+', '#/a', '$share/g', '$share//a', '$share/g+/a/b', '', 'a\u0000b', 'a/b#'];
export const BAD_TOPICS = ['a/+', '#', '', 'a\u0000b', '$share/g/a', 'a/#'];
const CLIENT_IDS = ['fz-a', 'fz-b', 'fz-c', 'fz-d', 'fz-e', 'fz-f', 'fz-g', 'fz-h'];
/** Invalid UTF-8 and forbidden code points [MQTT-1.5.3-1/2]. */
const BAD_UTF8 = [Uint8Array.of(0xff), Uint8Array.of(0xc0, 0x80), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0x61, 0x00)];

/** Wire type of each property (5.0 §2.2.2.2), for values of the right shape. */
const KIND = {
  [Prop.PayloadFormatIndicator]: 'byte',
  [Prop.MessageExpiryInterval]: 'u32',
  [Prop.ContentType]: 'string',
  [Prop.ResponseTopic]: 'string',
  [Prop.CorrelationData]: 'binary',
  [Prop.SubscriptionIdentifier]: 'varint',
  [Prop.SessionExpiryInterval]: 'u32',
  [Prop.AssignedClientIdentifier]: 'string',
  [Prop.ServerKeepAlive]: 'u16',
  [Prop.AuthenticationMethod]: 'string',
  [Prop.AuthenticationData]: 'binary',
  [Prop.RequestProblemInformation]: 'byte',
  [Prop.WillDelayInterval]: 'u32',
  [Prop.RequestResponseInformation]: 'byte',
  [Prop.ResponseInformation]: 'string',
  [Prop.ServerReference]: 'string',
  [Prop.ReasonString]: 'string',
  [Prop.ReceiveMaximum]: 'u16',
  [Prop.TopicAliasMaximum]: 'u16',
  [Prop.TopicAlias]: 'u16',
  [Prop.MaximumQoS]: 'byte',
  [Prop.RetainAvailable]: 'byte',
  [Prop.UserProperty]: 'pair',
  [Prop.MaximumPacketSize]: 'u32',
  [Prop.WildcardSubscriptionAvailable]: 'byte',
  [Prop.SubscriptionIdentifierAvailable]: 'byte',
  [Prop.SharedSubscriptionAvailable]: 'byte',
};
export const PROPERTY_IDS = Object.keys(KIND).map(Number);

/** A value of the right wire type for property `id`; `extreme` picks boundary values. */
export function propertyValue(rng, id, extreme = false) {
  switch (KIND[id]) {
    case 'byte':
      return extreme ? rng.pick([0, 1, 2, 0x7f, 0xff]) : rng.int(2);
    case 'u16':
      return extreme ? rng.pick([0, 1, 0xffff, 0x8000]) : rng.range(1, 20);
    case 'u32':
      return extreme ? rng.pick([0, 1, 0xffffffff, 0x7fffffff]) : rng.pick([0, 1, 10, 3600]);
    case 'varint':
      return extreme ? rng.pick([0, 1, 127, 128, 16384, 268435455]) : rng.range(1, 1000);
    case 'string':
      if (id === Prop.AuthenticationMethod) return rng.pick(['FUZZ', 'FUZZ', 'NOPE', '']);
      if (id === Prop.ResponseTopic) return extreme ? rng.pick(BAD_TOPICS) : rng.pick(TOPICS);
      return extreme ? rng.pick(['', 'x'.repeat(rng.range(100, 2000)), ...BAD_UTF8]) : rng.pick(['t', 'text/plain', 'ok']);
    case 'binary':
      return rng.bytes(extreme ? rng.size(4096) : rng.int(8));
    default:
      return extreme ? [rng.pick(['', ...BAD_UTF8]), 'v'] : [rng.pick(['k', 'key']), rng.pick(['v', ''])];
  }
}

function props(rng, ids, max = 3) {
  const out = [];
  const n = rng.int(max + 1);
  for (let i = 0; i < n; i++) {
    const id = rng.pick(ids);
    if (id !== Prop.UserProperty && out.some(([p]) => p === id)) continue;
    out.push([id, propertyValue(rng, id)]);
  }
  return out;
}

const CONNECT_PROPS = [
  Prop.SessionExpiryInterval,
  Prop.ReceiveMaximum,
  Prop.MaximumPacketSize,
  Prop.TopicAliasMaximum,
  Prop.RequestResponseInformation,
  Prop.RequestProblemInformation,
  Prop.UserProperty,
];
const WILL_PROPS = [Prop.WillDelayInterval, Prop.PayloadFormatIndicator, Prop.MessageExpiryInterval, Prop.ContentType, Prop.ResponseTopic, Prop.CorrelationData, Prop.UserProperty];
const PUBLISH_PROPS = [Prop.PayloadFormatIndicator, Prop.MessageExpiryInterval, Prop.ContentType, Prop.ResponseTopic, Prop.CorrelationData, Prop.UserProperty];
const ACK_PROPS = [Prop.ReasonString, Prop.UserProperty];
const DISCONNECT_PROPS = [Prop.SessionExpiryInterval, Prop.ReasonString, Prop.UserProperty];

function payload(rng) {
  if (rng.chance(0.2)) return 'hello';
  // Now and then around the 'limits' profile's maximumPacketSize of 4096.
  if (rng.chance(0.03)) return rng.bytes(rng.range(4000, 4200));
  return rng.bytes(rng.size(2048));
}

/** A CONNECT spec for protocol level `version` (3 = 3.1 MQIsdp, 4 = 3.1.1, 5 = 5.0). */
export function connectSpec(rng, version) {
  const clean = rng.chance(0.7);
  const opts = { version, clean, keepAlive: rng.pick([0, 0, 1, 60, 65535]) };
  opts.clientId = clean && version !== 3 && rng.chance(0.15) ? '' : rng.chance(0.9) ? rng.pick(CLIENT_IDS) : `fz-${rng.int(64)}`;
  // Ids the child's persistence fails for (throws, rejects).
  if (rng.chance(0.03)) opts.clientId = rng.pick(['persist-throw', 'persist-reject']);
  if (rng.chance(0.3)) {
    opts.will = { topic: rng.pick(TOPICS), payload: payload(rng), qos: rng.int(3), retain: rng.chance(0.3) };
    if (version === 5) opts.will.properties = props(rng, WILL_PROPS);
  }
  if (rng.chance(0.3)) {
    opts.username = rng.pick(['user', 'deny', 'async', 'throw', 'reject', '']);
    if (rng.chance(0.7)) opts.password = rng.bytes(rng.int(12));
  }
  let auth = 0;
  if (version === 5) {
    opts.properties = props(rng, CONNECT_PROPS);
    if (rng.chance(0.15)) {
      // The child broker's FUZZ method: data[0] 0 succeeds, 1 asks for one AUTH round, 2 fails,
      // 3 succeeds later, 4 throws, 5 rejects.
      auth = rng.int(6);
      opts.properties.push([Prop.AuthenticationMethod, 'FUZZ'], [Prop.AuthenticationData, Uint8Array.of(auth)]);
    }
  }
  const specs = [{ kind: 'connect', opts }];
  if (auth === 1) specs.push({ kind: 'auth', opts: { reasonCode: 0x18, properties: [[Prop.AuthenticationMethod, 'FUZZ']] } });
  return specs;
}

/** A valid session: CONNECT, then a few operations, usually ending with DISCONNECT. */
export function sessionSpecs(rng, version) {
  const specs = connectSpec(rng, version);
  let packetId = 0;
  const nextId = () => (packetId = (packetId % 0xffff) + 1);
  const ops = rng.weighted([
    [2, 0],
    [5, rng.range(1, 3)],
    [3, rng.range(4, 10)],
    // Bursts: past Receive Maximum, in-flight windows and write queue limits.
    [0.5, rng.range(20, 60)],
  ]);
  const aliases = [];
  for (let i = 0; i < ops; i++) {
    const op = rng.weighted([
      [3, 'subscribe'],
      [1, 'unsubscribe'],
      [5, 'publish'],
      [1, 'ack'],
      [1, 'ping'],
      [version === 5 ? 1 : 0, 'auth'],
    ]);
    if (op === 'subscribe') {
      const subscriptions = [];
      const n = rng.range(1, 3);
      for (let j = 0; j < n; j++) {
        const sub = { filter: rng.pick(FILTERS), qos: rng.int(3) };
        if (version === 5) {
          sub.noLocal = !sub.filter.startsWith('$share') && rng.chance(0.3);
          sub.retainAsPublished = rng.chance(0.3);
          sub.retainHandling = rng.int(3);
        }
        subscriptions.push(sub);
      }
      const properties = version === 5 ? props(rng, [Prop.SubscriptionIdentifier, Prop.UserProperty], 2) : undefined;
      specs.push({ kind: 'subscribe', opts: { version, packetId: nextId(), subscriptions, properties } });
    } else if (op === 'unsubscribe') {
      specs.push({ kind: 'unsubscribe', opts: { version, packetId: nextId(), filters: [rng.pick(FILTERS)] } });
    } else if (op === 'publish') {
      const qos = rng.weighted([
        [4, 0],
        [3, 1],
        [3, 2],
      ]);
      const opts = { version, topic: rng.pick(TOPICS), payload: payload(rng), qos, retain: rng.chance(0.15) };
      if (qos > 0) opts.packetId = nextId();
      if (version === 5) {
        opts.properties = props(rng, PUBLISH_PROPS, 2);
        if (rng.chance(0.25)) {
          const alias = rng.range(1, 3);
          opts.properties.push([Prop.TopicAlias, alias]);
          if (aliases.includes(alias) && rng.chance(0.6)) opts.topic = '';
          else aliases.push(alias);
        }
      }
      specs.push({ kind: 'publish', opts });
      if (qos === 2 && rng.chance(0.8)) specs.push({ kind: 'pubrel', id: opts.packetId, opts: { version } });
    } else if (op === 'ack') {
      // Acknowledges what the broker may have sent to this client (ids it would use first).
      const kind = rng.pick(['puback', 'pubrec', 'pubcomp']);
      specs.push({ kind, id: rng.range(1, 3), opts: ackOpts(rng, version) });
    } else if (op === 'ping') {
      specs.push({ kind: 'pingreq', opts: {} });
    } else {
      specs.push({ kind: 'auth', opts: { reasonCode: 0x19, properties: [[Prop.AuthenticationMethod, 'FUZZ'], [Prop.AuthenticationData, Uint8Array.of(rng.int(6))]] } });
    }
  }
  if (rng.chance(0.7)) {
    const opts = { version };
    if (version === 5 && rng.chance(0.5)) {
      opts.reasonCode = rng.pick([0, 0, 4]);
      if (rng.chance(0.4)) opts.properties = props(rng, DISCONNECT_PROPS, 2);
    }
    specs.push({ kind: 'disconnect', opts });
  }
  return specs;
}

function ackOpts(rng, version) {
  if (version !== 5 || rng.chance(0.5)) return { version };
  return { version, reasonCode: rng.pick([0, 0x10, 0x80, 0x92]), properties: rng.chance(0.5) ? props(rng, ACK_PROPS, 2) : undefined };
}

/** The bytes of one spec. */
export function buildSpec(spec) {
  switch (spec.kind) {
    case 'connect':
      return build.connect(spec.opts);
    case 'publish':
      return build.publish(spec.opts);
    case 'subscribe':
      return build.subscribe(spec.opts);
    case 'unsubscribe':
      return build.unsubscribe(spec.opts);
    case 'puback':
      return build.puback(spec.id, spec.opts);
    case 'pubrec':
      return build.pubrec(spec.id, spec.opts);
    case 'pubrel':
      return build.pubrel(spec.id, spec.opts);
    case 'pubcomp':
      return build.pubcomp(spec.id, spec.opts);
    case 'pingreq':
      return build.pingreq();
    case 'disconnect':
      return build.disconnect(spec.opts);
    case 'auth':
      return build.auth(spec.opts);
    default:
      return build.rawPacket(spec.opts.first, spec.opts.body);
  }
}
