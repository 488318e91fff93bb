/**
 * `hato`: the one package users install. It re-exports the public API of the broker and
 * of the protocol codec.
 */
export * from '@hato/broker';
export * from '@hato/protocol';
// The client helper adds the @hato/client exports here (export * from '@hato/client';).
