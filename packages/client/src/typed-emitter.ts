/**
 * A minimal typed event emitter that runs in browsers and Node alike. Unlike Node's
 * EventEmitter, emitting 'error' with no listener does not throw: the client reports
 * errors through promises too, so an unobserved 'error' event must not crash the app.
 * A listener that throws cannot break the client either (see `emit`).
 */
export type EventMap = Record<string, unknown[]>;
type Listener<A extends unknown[]> = (...args: A) => void;

export class TypedEmitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Listener<never>[]>();

  on<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const list = this.listeners.get(event);
    if (list === undefined) this.listeners.set(event, [listener as Listener<never>]);
    else list.push(listener as Listener<never>);
    return this;
  }

  once<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const wrapper = (...args: E[K]) => {
      this.off(event, wrapper);
      listener(...args);
    };
    return this.on(event, wrapper);
  }

  off<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const list = this.listeners.get(event);
    if (list === undefined) return this;
    const i = list.indexOf(listener as Listener<never>);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.listeners.delete(event);
    return this;
  }

  listenerCount<K extends keyof E>(event: K): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  /**
   * Calls the listeners in order. One that throws does not stop the others nor the
   * client's own work (the state change that emitted the event completes): its error is
   * re-thrown from a microtask, as an uncaught exception of the application.
   */
  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const list = this.listeners.get(event);
    if (list === undefined) return;
    if (list.length === 1) {
      call(list[0] as Listener<E[K]>, args);
      return;
    }
    for (const listener of list.slice()) call(listener as Listener<E[K]>, args);
  }
}

function call<A extends unknown[]>(listener: Listener<A>, args: A): void {
  try {
    listener(...args);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}
