import type { QoS } from '@hato/protocol';
import type { Message } from '../message.js';
import type { BrokerHooks, SharedMember } from '../options.js';
import type { Session } from '../session/session.js';
import type { ShareGroup } from './subscription-trie.js';

type Chooser = NonNullable<BrokerHooks['chooseSharedMember']>;

/**
 * Whether a member can take a message now: connected, its socket not congested, and for
 * QoS 1/2 a free slot in its in-flight window with nothing queued before it (5.0 §4.8.2:
 * a member whose window is full is skipped).
 */
function canTake(session: Session, qos: QoS): boolean {
  const connection = session.connection;
  if (connection === undefined || connection.isCongested()) return false;
  return qos === 0 || (session.inflight.size < connection.sendWindow && session.queueLength === 0);
}

/**
 * Index of the member of `group` that gets `message` (5.0 §4.8.2): round robin over the
 * members that can take it now, else over the connected ones, else over all (the message
 * then waits in that session). `choose` replaces round robin when set. `except` is left
 * out (a member handing its messages back). Returns -1 when there is no one.
 */
export function chooseSharedMember(group: ShareGroup, message: Message, choose: Chooser | undefined, except?: Session): number {
  const members = group.members;
  const length = members.length;
  if (length === 0 || (length === 1 && members[0] === except)) return -1;
  if (choose !== undefined) return chooseWithHook(group, message, choose, except);
  let connected = -1;
  let any = -1;
  for (let step = 0; step < length; step++) {
    const index = (group.next + step) % length;
    const session = members[index]!;
    if (session === except) continue;
    if (canTake(session, message.qos)) return advance(group, index);
    if (connected === -1 && session.connection !== undefined) connected = index;
    if (any === -1) any = index;
  }
  return advance(group, connected !== -1 ? connected : any);
}

function advance(group: ShareGroup, index: number): number {
  group.next = (index + 1) % group.members.length;
  return index;
}

function chooseWithHook(group: ShareGroup, message: Message, choose: Chooser, except: Session | undefined): number {
  const members = group.members.filter((session) => session !== except);
  let pool = members.filter((session) => canTake(session, message.qos));
  if (pool.length === 0) pool = members.filter((session) => session.connection !== undefined);
  if (pool.length === 0) pool = members;
  const candidates: SharedMember[] = pool.map(describe);
  const picked = choose(candidates, { topic: message.topic, payload: message.payload, qos: message.qos }, group.name);
  const session = Number.isInteger(picked) && picked >= 0 && picked < pool.length ? pool[picked]! : pool[0]!;
  return group.members.indexOf(session);
}

function describe(session: Session): SharedMember {
  const connection = session.connection;
  return {
    clientId: session.clientId,
    connected: connection !== undefined,
    inflight: session.inflight.size,
    window: connection?.sendWindow ?? 0,
    queued: session.queueLength,
  };
}
