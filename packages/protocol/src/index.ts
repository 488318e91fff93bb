export * from './packets.js';
export type * from './properties.js';
export * from './reason-codes.js';
export {
  clientDisconnectReasonFor,
  type ConnackReasonCode,
  type ConnectReturnCodeValue,
  connackReasonFor,
  type DisconnectReasonCode,
  disconnectReasonFor,
  isConnackReasonCode,
  isDisconnectReasonCode,
} from './reason-code-sets.js';
export * from './errors.js';
export { Decoder, type DecoderOptions } from './decoder.js';
export { encode, encodedLength, encodeInto, setPublishDup, setPublishPacketId } from './encoder.js';
export {
  isPropertyAllowed,
  type PropertyDefinition,
  type PropertyWireType,
  propertiesById,
  propertiesByName,
  propertyDefinitions,
} from './property-table.js';
export { isValidTopicFilter, isValidTopicName, parseSharedSubscription, topicMatches } from './topic.js';
export { PacketIdAllocator } from './flow/packet-ids.js';
export { type AliasLookup, TopicAliasReceiver, TopicAliasSender } from './flow/topic-alias.js';
