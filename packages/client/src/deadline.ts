/**
 * Time limits for operations that wait on the server. Every such operation (subscribe,
 * unsubscribe, a QoS 1/2 publish, request) settles when the server answers, when the
 * client ends, or, when the caller asks, after `timeout` ms or when `signal` aborts.
 */
import { TimeoutError } from './errors.js';

export interface WaitOptions {
  /** Ms to wait for the server's answer; the promise then rejects with TimeoutError. */
  timeout?: number;
  /** Rejects the promise with `signal.reason` when aborted. */
  signal?: AbortSignal;
}

/** The error an aborted signal stands for. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error(reason === undefined ? 'the operation was aborted' : String(reason));
  error.name = 'AbortError';
  return error;
}

/**
 * Arms the timeout and the abort listener of `options`. `cancel` runs at most once,
 * with the TimeoutError or the abort reason, from a timer or an event (never
 * synchronously). Returns the function that disarms both, for when the operation
 * settles first; undefined when there is nothing to arm.
 */
export function watchDeadline(
  options: WaitOptions | undefined,
  timeoutMessage: (ms: number) => string,
  cancel: (error: Error) => void,
): (() => void) | undefined {
  const timeout = options?.timeout;
  const signal = options?.signal;
  if (timeout === undefined && signal === undefined) return undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let armed = true;
  const clear = () => {
    armed = false;
    if (timer !== undefined) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
  const fire = (error: Error) => {
    if (!armed) return;
    clear();
    cancel(error);
  };
  const onAbort = () => fire(abortError(signal!));
  if (timeout !== undefined) timer = setTimeout(() => fire(new TimeoutError(timeoutMessage(timeout))), timeout);
  if (signal !== undefined) {
    if (signal.aborted) queueMicrotask(onAbort);
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  return clear;
}

/**
 * Wraps a resolve/reject pair so that settling disarms the deadline. Returns the pair
 * unchanged when no deadline is armed (the common case allocates nothing more).
 */
export function disarming<T>(
  clear: (() => void) | undefined,
  resolve: (value: T) => void,
  reject: (error: Error) => void,
): { resolve: (value: T) => void; reject: (error: Error) => void } {
  if (clear === undefined) return { resolve, reject };
  return {
    resolve: (value) => {
      clear();
      resolve(value);
    },
    reject: (error) => {
      clear();
      reject(error);
    },
  };
}

/** Resolves true when `promise` settles within `ms`, false otherwise. */
export function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([promise.then(() => true), timeout]).finally(() => clearTimeout(timer));
}
