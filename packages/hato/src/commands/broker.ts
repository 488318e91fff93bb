import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Broker, type TlsListenOptions } from '@hato/broker';
import { createLogger } from '../log.js';

const usage = `usage: hato broker [options]

Runs an MQTT 3.1 / 3.1.1 / 5.0 broker.

options:
  -p, --port <port>      TCP port for MQTT (default 1883, 0 picks a free port)
      --host <host>      address to listen on (default 0.0.0.0)
      --ws-port <port>   port for MQTT over WebSocket on /mqtt (default 8083, 0 picks a free port)
      --no-ws            do not listen for WebSocket clients
      --tls-port <port>  also listen for MQTT over TLS (needs --cert and --key)
      --cert <file>      PEM server certificate (chain) for --tls-port
      --key <file>       PEM private key for --tls-port
      --cafile <file>    PEM CA bundle to verify client certificates (asks clients for one)
  -v, --verbose          debug logs (connections, subscriptions, protocol errors)
  -h, --help             show this help

Logs are pino JSON lines on stdout (pretty when stdout is a terminal). Once listening,
one line says "hato broker listening" with the actual "port", "wsPort" and "tlsPort"
(null when disabled). SIGINT / SIGTERM close the broker gracefully and exit 0.
`;

interface BrokerArgs {
  port: number;
  host: string;
  wsPort: number | undefined;
  tls: TlsListenOptions | undefined;
  verbose: boolean;
}

function parse(argv: string[]): BrokerArgs | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', short: 'p', default: '1883' },
      host: { type: 'string', default: '0.0.0.0' },
      'ws-port': { type: 'string', default: '8083' },
      'no-ws': { type: 'boolean', default: false },
      'tls-port': { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      cafile: { type: 'string' },
      verbose: { type: 'boolean', short: 'v', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  return {
    port: parsePort(values.port, '--port'),
    host: values.host,
    wsPort: values['no-ws'] ? undefined : parsePort(values['ws-port'], '--ws-port'),
    tls: parseTls(values),
    verbose: values.verbose,
  };
}

function parseTls(values: { 'tls-port'?: string; cert?: string; key?: string; cafile?: string; host: string }): TlsListenOptions | undefined {
  if (values['tls-port'] === undefined) {
    if (values.cert !== undefined || values.key !== undefined) throw new Error('--cert and --key need --tls-port');
    return undefined;
  }
  if (values.cert === undefined || values.key === undefined) throw new Error('--tls-port needs --cert and --key');
  const read = (file: string, name: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`${name}: cannot read '${file}': ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const ca = values.cafile === undefined ? undefined : read(values.cafile, '--cafile');
  return {
    port: parsePort(values['tls-port'], '--tls-port'),
    host: values.host,
    cert: read(values.cert, '--cert'),
    key: read(values.key, '--key'),
    ...(ca === undefined ? {} : { ca, requestCert: true }),
  };
}

function parsePort(text: string, name: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name} must be a port number (0..65535), not '${text}'`);
  return port;
}

/** `hato broker`: runs until SIGINT/SIGTERM; resolves with the exit code. */
export async function run(argv: string[]): Promise<number> {
  let args: BrokerArgs | 'help';
  try {
    args = parse(argv);
  } catch (err) {
    process.stderr.write(`hato broker: ${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
    return 1;
  }
  if (args === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  const logger = createLogger(args.verbose);
  const broker = new Broker({ logger });
  broker.on('clientConnected', (client) => logger.info({ clientId: client.id, version: client.protocolVersion, address: client.remoteAddress }, 'client connected'));
  broker.on('clientDisconnected', (client, reason) => logger.info({ clientId: client.id, reason: reason?.message }, 'client disconnected'));
  broker.on('clientError', (client, error) => logger.debug({ clientId: client.id, reasonCode: error.reasonCode, err: error.message }, 'client error'));
  const tcp = await broker.listen({ port: args.port, host: args.host });
  const ws = args.wsPort === undefined ? undefined : await broker.listenWebSocket({ port: args.wsPort, host: args.host });
  const tls = args.tls === undefined ? undefined : await broker.listenTls(args.tls);
  logger.info({ host: args.host, port: tcp.port, wsPort: ws?.port ?? null, tlsPort: tls?.port ?? null }, 'hato broker listening');
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await broker.close();
  logger.info('hato broker stopped');
  return 0;
}
