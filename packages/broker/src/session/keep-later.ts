/**
 * In-flight messages let go of the read chunk they came in, a little later.
 *
 * A message routed to a QoS 1/2 subscriber goes in flight until the subscriber acknowledges
 * it, which a connected, reading subscriber does within a fraction of a millisecond. Until
 * then its payload may be a view into the read chunk it arrived in, and its encoded bytes a
 * view into an encoder slab. Copying both at once (`Message.keep`) for every delivery costs
 * an allocation per message on the busiest path for nothing in the common case; never
 * copying lets a subscriber that does not acknowledge pin whole 64 KiB chunks.
 *
 * So a session that puts a message not yet kept in flight is put on a list, and one shared
 * timer, armed only while the list is not empty, keeps whatever those sessions still have in
 * flight a tick later [DESIGN: no view into a read chunk outlives its packet unless copied to
 * its exact size]. A view outlives its packet by at most two ticks, and the path costs one
 * flag test per delivery. Queued and retained messages are kept at once, as before.
 */

/** What the list holds (a Session): its flag and the sweep. */
export interface KeepLater {
  /** On the list already. */
  keepScheduled: boolean;
  /** Keeps every message it has in flight. */
  keepInflight(): void;
}

const TICK_MS = 100;
let pending: KeepLater[] = [];
let timer: NodeJS.Timeout | undefined;

/** Puts `session` on the list for the next sweep (once per sweep). */
export function keepInflightLater(session: KeepLater): void {
  if (session.keepScheduled) return;
  session.keepScheduled = true;
  pending.push(session);
  if (timer === undefined) timer = setTimeout(sweep, TICK_MS).unref();
}

function sweep(): void {
  timer = undefined;
  const sessions = pending;
  pending = [];
  for (const session of sessions) {
    session.keepScheduled = false;
    session.keepInflight();
  }
}
