/**
 * Messages a session holds (in flight, queued) let go of the read chunk they came in, a
 * little later.
 *
 * A message routed to a QoS 1/2 subscriber goes in flight until the subscriber acknowledges
 * it, or waits in its queue while the in-flight window is full; a connected, reading
 * subscriber is done with it within a fraction of a millisecond. Until then its payload may
 * be a view into the read chunk it arrived in, and its encoded bytes a view into an encoder
 * slab. Copying both at once (`Message.keep`) for every delivery costs an allocation per
 * message on the busiest path (about a third of QoS 1 pairs throughput) for nothing in the
 * common case; never copying lets a subscriber that does not keep up, or is offline, pin
 * whole 64 KiB chunks.
 *
 * So a session that takes a message not yet kept is put on a list, and one shared timer,
 * armed only while the list is not empty, keeps whatever those sessions still hold a tick
 * later [DESIGN: no view into a read chunk outlives its packet unless copied to its exact
 * size]. A view outlives its packet by at most two ticks, and the path costs one flag test
 * per delivery. Retained messages and wills are kept at once.
 */

/** What the list holds (a Session): its flag and the sweep. */
export interface KeepLater {
  /** On the list already. */
  keepScheduled: boolean;
  /** Keeps every message it holds (in flight, queued). */
  keepHeld(): void;
}

const TICK_MS = 100;
let pending: KeepLater[] = [];
let timer: NodeJS.Timeout | undefined;

/** Puts `session` on the list for the next sweep (once per sweep). */
export function keepHeldLater(session: KeepLater): void {
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
    session.keepHeld();
  }
}
