export { binary, concat, frame, fromHex, type StringOrBytes, toBytes, toHex, u8, u16, u32, utf8, varint } from './bytes.js';
export {
  type BrokerOptions,
  type BrokerUnderTest,
  MOSQUITTO_BINARY,
  startBroker,
  supportsOption,
  type Target,
  target,
  UnsupportedOptionError,
} from './broker.js';
export {
  type AckOptions,
  auth,
  type ConnectOptions,
  connect,
  type DisconnectOptions,
  disconnect,
  type MqttVersion,
  type PublishOptions,
  pingreq,
  publish,
  puback,
  pubcomp,
  pubrec,
  pubrel,
  rawPacket,
  type SubscribeOptions,
  type Subscription,
  subscribe,
  type UnsubscribeOptions,
  unsubscribe,
  type WillOptions,
} from './builder.js';
export {
  type AckIn,
  type ConnackIn,
  type DisconnectIn,
  describePacket,
  type OtherIn,
  PACKET_TYPES,
  type PacketOf,
  type PacketTypeName,
  type ParsedPacket,
  type PublishIn,
  parsePacket,
  type SubackIn,
  splitPackets,
} from './parser.js';
export { freePort, waitForPort } from './ports.js';
export {
  type DecodedProperties,
  decodeProperties,
  encodeProperties,
  getProp,
  getProps,
  Prop,
  type PropertyInput,
  type PropertyList,
  type PropertyValue,
  Reader,
  rawProperties,
} from './properties.js';
export { connectAndHandshake, RawClient, type RawClientOptions } from './raw-client.js';
export { sleep, TimeoutError, waitUntil, withTimeout } from './timeout.js';
export { type PersistenceFactory, persistenceContract } from './persistence-contract.js';
export { type RedisServer, type RedisServerOptions, redisServerBinary, startRedisServer } from './redis-server.js';
export { useRedisServer } from './redis-suite.js';
export { parsePrometheus } from './prometheus.js';
