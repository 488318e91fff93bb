/**
 * The client's connection state as one explicit union, changed only through
 * `transition`. The client derives its events (`connect`, `offline`, `reconnect`,
 * `end`) from the (previous, next) pair, so no combination of booleans can disagree.
 *
 *   connecting ──connack──▶ connected ──lost──▶ offline ──retry──▶ connecting
 *        │                      │                  │
 *        └──lost (no retry)─────┴──end──▶ disconnecting ──closed──▶ closed
 */
export type ConnectionState =
  /** Transport opening or CONNECT sent, waiting for CONNACK. `attempt` counts failures since the last success. */
  | { status: 'connecting'; attempt: number }
  | { status: 'connected'; sessionPresent: boolean }
  /** Waiting (backoff) before reconnect attempt number `attempt`. */
  | { status: 'offline'; attempt: number }
  /** `end()` was called: draining in-flight messages, DISCONNECT sent. */
  | { status: 'disconnecting' }
  /** Final: `error` is why the client gave up (absent after a clean `end()`). */
  | { status: 'closed'; error?: Error };

export type ConnectionEvent =
  | { type: 'connack'; sessionPresent: boolean }
  /** The transport closed; `retry` false means give up. */
  | { type: 'lost'; retry: boolean; error?: Error }
  | { type: 'retry' }
  | { type: 'end' }
  | { type: 'closed'; error?: Error };

export class InvalidTransitionError extends Error {
  override name = 'InvalidTransitionError';
}

/** The only way the connection state changes. Throws on a transition the diagram does not have. */
export function transition(state: ConnectionState, event: ConnectionEvent): ConnectionState {
  switch (event.type) {
    case 'connack':
      if (state.status === 'connecting') return { status: 'connected', sessionPresent: event.sessionPresent };
      break;
    case 'lost':
      if (state.status === 'connecting' || state.status === 'connected') {
        const attempt = state.status === 'connecting' ? state.attempt + 1 : 1;
        if (!event.retry) return event.error ? { status: 'closed', error: event.error } : { status: 'closed' };
        return { status: 'offline', attempt };
      }
      if (state.status === 'disconnecting') return state;
      break;
    case 'retry':
      if (state.status === 'offline') return { status: 'connecting', attempt: state.attempt };
      break;
    case 'end':
      if (state.status !== 'closed') return { status: 'disconnecting' };
      return state;
    case 'closed':
      return event.error ? { status: 'closed', error: event.error } : { status: 'closed' };
  }
  throw new InvalidTransitionError(`no transition from '${state.status}' on '${event.type}'`);
}
