export * from './packets.js';
export type * from './properties.js';
export * from './reason-codes.js';
export * from './errors.js';
