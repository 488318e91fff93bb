/**
 * Starts the broker under test on 127.0.0.1 with free ports. The target is chosen by
 * env HATO_TARGET: 'hato' (default, embedded in-process) or 'mosquitto' (a real
 * /usr/sbin/mosquitto child process with a generated config file).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports.js';

export type Target = 'hato' | 'mosquitto';

/** The target selected by HATO_TARGET for this run. */
export const target: Target = process.env.HATO_TARGET === 'mosquitto' ? 'mosquitto' : 'hato';

export const MOSQUITTO_BINARY = process.env.MOSQUITTO_BINARY ?? '/usr/sbin/mosquitto';

/** Options tests may need; each is mapped to the target's configuration where possible. */
export interface BrokerOptions {
  /** Drop sockets that send no CONNECT within this time. Not mappable for mosquitto. */
  connectTimeoutMs?: number;
  /** Per-session queue bound. mosquitto: max_queued_messages. */
  maxQueuedMessages?: number;
  /** Cap on client keep alive (5.0 Server Keep Alive). mosquitto: max_keepalive. */
  maxKeepAlive?: number;
  /** Largest packet accepted from clients. mosquitto: max_packet_size. */
  maximumPacketSize?: number;
  /** Server Receive Maximum (5.0). mosquitto: max_inflight_messages. */
  receiveMaximum?: number;
  /** Also start a WebSocket listener (default true). */
  websocket?: boolean;
  /** Extra options passed to `new Broker()` as is (hato only). */
  hato?: Record<string, unknown>;
  /** Extra mosquitto.conf lines (mosquitto only). */
  mosquittoConfig?: string[];
}

type MappedOption = 'connectTimeoutMs' | 'maxQueuedMessages' | 'maxKeepAlive' | 'maximumPacketSize' | 'receiveMaximum';

const MOSQUITTO_KEYS: Record<MappedOption, string | undefined> = {
  connectTimeoutMs: undefined,
  maxQueuedMessages: 'max_queued_messages',
  maxKeepAlive: 'max_keepalive',
  maximumPacketSize: 'max_packet_size',
  receiveMaximum: 'max_inflight_messages',
};

export class UnsupportedOptionError extends Error {
  override name = 'UnsupportedOptionError';
}

/** Whether `option` can be applied to `on` (tests skip themselves when it cannot). */
export function supportsOption(option: MappedOption, on: Target = target): boolean {
  return on === 'hato' || MOSQUITTO_KEYS[option] !== undefined;
}

export interface BrokerUnderTest {
  target: Target;
  port: number;
  /** WebSocket port (path /mqtt, subprotocol mqtt) when started. */
  wsPort?: number;
  /** Bytes of memory attributable to the broker (heap + buffers for hato, RSS for mosquitto). */
  memory(): number;
  close(): Promise<void>;
}

export async function startBroker(options: BrokerOptions = {}, on: Target = target): Promise<BrokerUnderTest> {
  return on === 'mosquitto' ? startMosquitto(options) : startHato(options);
}

interface HatoBroker {
  listen(options: { port: number; host: string }): Promise<unknown>;
  listenWebSocket?(options: { port: number; host: string; path?: string }): Promise<unknown>;
  close(): Promise<unknown>;
}

type HatoModule = { Broker?: new (options: Record<string, unknown>) => HatoBroker };

/** Finds the bound port in whatever listen() resolved to (a port, an address, or a server). */
function portOf(listening: unknown): number {
  if (typeof listening === 'number') return listening;
  if (listening && typeof listening === 'object') {
    const value = listening as { port?: unknown; address?: unknown };
    if (typeof value.port === 'number') return value.port;
    if (typeof value.address === 'function') return portOf((value.address as () => unknown).call(listening));
  }
  throw new Error(`cannot find the port in listen() result: ${String(listening)}`);
}

async function startHato(options: BrokerOptions): Promise<BrokerUnderTest> {
  // Imported dynamically so the testkit type-checks whatever the broker's API looks like today.
  const mod = (await import('@hato/broker')) as unknown as HatoModule;
  if (typeof mod.Broker !== 'function') throw new Error('@hato/broker does not export a Broker class yet');
  const { websocket = true, hato = {}, mosquittoConfig: _ignored, ...mapped } = options;
  const broker = new mod.Broker({ ...mapped, ...hato });
  const port = portOf(await broker.listen({ port: 0, host: '127.0.0.1' }));
  let wsPort: number | undefined;
  if (websocket && broker.listenWebSocket) {
    wsPort = portOf(await broker.listenWebSocket({ port: 0, host: '127.0.0.1' }));
  }
  return {
    target: 'hato',
    port,
    wsPort,
    memory: () => {
      const usage = process.memoryUsage();
      return usage.heapUsed + usage.arrayBuffers;
    },
    close: async () => {
      await broker.close();
    },
  };
}

function mosquittoConfig(options: BrokerOptions, port: number, wsPort: number | undefined): string {
  const lines = ['allow_anonymous true', 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning'];
  for (const key of Object.keys(MOSQUITTO_KEYS) as MappedOption[]) {
    const value = options[key];
    if (value === undefined) continue;
    const name = MOSQUITTO_KEYS[key];
    if (name === undefined) throw new UnsupportedOptionError(`${key} cannot be mapped to mosquitto`);
    lines.push(`${name} ${value}`);
  }
  lines.push(...(options.mosquittoConfig ?? []));
  lines.push(`listener ${port} 127.0.0.1`, 'protocol mqtt');
  if (wsPort !== undefined) lines.push(`listener ${wsPort} 127.0.0.1`, 'protocol websockets');
  return `${lines.join('\n')}\n`;
}

async function startMosquitto(options: BrokerOptions): Promise<BrokerUnderTest> {
  if (options.hato && Object.keys(options.hato).length > 0) {
    throw new UnsupportedOptionError(`hato-only options: ${Object.keys(options.hato).join(', ')}`);
  }
  const port = await freePort();
  const wsPort = (options.websocket ?? true) ? await freePort() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'hato-mosquitto-'));
  const configPath = join(dir, 'mosquitto.conf');
  writeFileSync(configPath, mosquittoConfig(options, port, wsPort));
  const child = spawn(MOSQUITTO_BINARY, ['-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  try {
    await waitForPort(port);
    if (wsPort !== undefined) await waitForPort(wsPort);
  } catch (error) {
    process.off('exit', killOnExit);
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`mosquitto did not start: ${(error as Error).message}\n${stderr}`);
  }
  return {
    target: 'mosquitto',
    port,
    wsPort,
    memory: () => rssOf(child),
    close: async () => {
      process.off('exit', killOnExit);
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function rssOf(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (!match) throw new Error('VmRSS not found');
  return Number(match[1]) * 1024;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
