// One fuzz case: a mutated session over one connection (TCP or WebSocket), as the byte
// chunks to write, how to pace them, and how to end the connection. Rebuilt from (seed, index).
import { concat } from '@hato/testkit';
import { mutatePackets, mutateSpecs, mutateStream } from './mutate.js';
import { Rng } from './rng.js';
import { buildSpec, sessionSpecs } from './sessions.js';
import { upgradeRequest, wsFrames } from './ws-frames.js';

/** Splits `bytes` into chunks: whole, per packet, at random points, or byte by byte. */
function split(rng, bytes, packetEnds) {
  const mode = rng.weighted([
    [4, 'whole'],
    [2, 'packets'],
    [3, 'random'],
    [bytes.length <= 64 ? 1 : 0, 'bytes'],
  ]);
  let cuts = [];
  if (mode === 'packets') cuts = packetEnds.filter((end) => end > 0 && end < bytes.length);
  else if (mode === 'random') {
    const n = rng.range(1, 8);
    for (let i = 0; i < n; i++) cuts.push(rng.range(1, Math.max(1, bytes.length - 1)));
    cuts = [...new Set(cuts)].filter((c) => c < bytes.length).sort((a, b) => a - b);
  } else if (mode === 'bytes') {
    for (let i = 1; i < bytes.length; i++) cuts.push(i);
  }
  const chunks = [];
  let from = 0;
  for (const cut of cuts) {
    chunks.push(bytes.subarray(from, cut));
    from = cut;
  }
  chunks.push(bytes.subarray(from));
  return chunks.filter((c) => c.length > 0);
}

/**
 * Case `index` of the run seeded with `seed`:
 * { index, transport: 'tcp' | 'ws', chunks: Uint8Array[], pace: 'sync' | 'immediate' | 'timer',
 *   close: 'fin' | 'rst' | 'linger' | 'hold' | 'stall', holdMs, waitUpgrade: boolean, mutations: string[] }
 */
export function generateCase(seed, index) {
  const rng = Rng.forCase(seed, index);
  const version = rng.weighted([
    [2, 3],
    [4, 4],
    [5, 5],
  ]);
  const mutations = [];
  const specs = sessionSpecs(rng, version);
  // Which levels get mutated; about one case in ten stays a valid session.
  const level = rng.weighted([
    [1, 'none'],
    [4, 'spec'],
    [4, 'packet'],
    [2, 'both'],
    [1, 'stream'],
  ]);
  if (level === 'spec' || level === 'both') mutateSpecs(rng, specs, version, rng.range(1, 3), mutations);
  const packets = specs.map(buildSpec);
  if (level === 'packet' || level === 'both') mutatePackets(rng, packets, rng.range(1, 3), mutations);
  let bytes = concat(packets);
  if (level === 'stream' || (level !== 'none' && rng.chance(0.05))) bytes = mutateStream(rng, bytes, mutations);
  const packetEnds = [];
  let end = 0;
  for (const p of packets) packetEnds.push((end += p.length));

  const transport = rng.chance(0.2) ? 'ws' : 'tcp';
  let waitUpgrade = false;
  if (transport === 'ws') {
    const badUpgrade = rng.chance(0.04);
    if (badUpgrade) mutations.push('ws-upgrade');
    waitUpgrade = rng.chance(0.3);
    const frames = wsFrames(rng, bytes, rng.chance(0.25), mutations);
    const request = upgradeRequest(rng, badUpgrade);
    // The upgrade request is its own first chunk when the case waits for the 101 response.
    bytes = waitUpgrade ? frames : concat([request, frames]);
    const chunks = split(rng, bytes, []);
    if (waitUpgrade) chunks.unshift(request);
    return finish(rng, { index, version, transport, chunks, waitUpgrade, mutations });
  }
  return finish(rng, { index, version, transport, chunks: split(rng, bytes, packetEnds), waitUpgrade, mutations });
}

function finish(rng, c) {
  c.pace = c.chunks.length <= 1 ? 'sync' : rng.weighted([
    [3, 'sync'],
    [6, 'immediate'],
    [1, 'timer'],
  ]);
  c.close = rng.weighted([
    [16, 'fin'],
    [2, 'rst'],
    [2, 'linger'],
    [1, 'hold'],
    [0.5, 'stall'],
  ]);
  // 'hold' stays connected (messages others publish reach it; a 1 s keep alive runs out),
  // 'stall' also stops reading (a slow consumer) before ending.
  if (c.close === 'hold' || c.close === 'stall') c.holdMs = rng.range(100, 2000);
  return c;
}

const hex = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** A case as JSON-ready data (hex chunks) for replay files. */
export function caseToJson(c) {
  return {
    index: c.index,
    transport: c.transport,
    waitUpgrade: c.waitUpgrade,
    pace: c.pace,
    close: c.close,
    holdMs: c.holdMs,
    mutations: c.mutations,
    chunks: c.chunks.map(hex),
  };
}

export function caseFromJson(data) {
  return {
    index: data.index ?? 0,
    transport: data.transport ?? 'tcp',
    waitUpgrade: data.waitUpgrade ?? false,
    pace: data.pace ?? 'immediate',
    close: data.close ?? 'fin',
    holdMs: data.holdMs ?? 300,
    mutations: data.mutations ?? [],
    chunks: data.chunks.map((h) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'))),
  };
}
