// What tests use from the broker fuzzer (types in index.d.ts).
export { bundleChild, startBrokerProcess } from './broker-process.js';
export { runFuzz } from './fuzzer.js';
export { loadReplay, replay } from './replay.js';
