import { parseArgs } from 'node:util';
import { type BrokerFlags, effectiveConfig, printable, StartRefusedError } from '../config/effective.js';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { createLogger } from '../log.js';
import { serve } from '../serve/run.js';

const usage = `usage: hato broker [-c FILE] [options]

Runs an MQTT 3.1 / 3.1.1 / 5.0 broker. Every setting can live in a config file (YAML, JSON
or a .js/.mjs module; see docs/config.md); the flags below override the file.

options:
  -c, --config <file>        config file (YAML, JSON, .js/.mjs exporting the object)
      --print-config         print the effective config (secrets masked) and exit
  -p, --port <port>          TCP port for MQTT (default 1883, 0 picks a free port)
      --host <host>          address every listener binds to (default: loopback only when
                             there is no password file and no config listener)
      --ws-port <port>       port for MQTT over WebSocket on /mqtt (default 8083)
      --no-ws                do not listen for WebSocket clients
      --tls-port <port>      also listen for MQTT over TLS (needs --cert and --key)
      --cert <file>          PEM server certificate (chain) for --tls-port
      --key <file>           PEM private key for --tls-port
      --cafile <file>        PEM CA bundle to verify client certificates (requires one)
      --password-file <file> users and password hashes (hato passwd, or mosquitto_passwd)
      --acl-file <file>      Mosquitto acl_file rules
      --allow-anonymous      accept clients without a user name when listening beyond loopback
      --admin-port <port>    admin HTTP listener: /metrics, /healthz, /readyz
      --admin-host <host>    address of the admin listener (default 127.0.0.1)
      --sys-interval <s>     seconds between $SYS updates (default 10, 0 disables)
      --persistence <store>  memory | sqlite[:PATH] | redis://HOST:PORT[/DB] (default: sqlite,
                             <data-dir>/hato.db; a relative PATH is in the data directory)
      --data-dir <dir>       where durable state lives (default $XDG_DATA_HOME/hato, else
                             ~/.local/share/hato)
      --cluster <url>        join the other hato nodes on this Redis: redis://HOST:PORT[/DB]
                             (the persistence is then that Redis; see docs/cluster.md)
  -v, --verbose              debug logs (connections, subscriptions, protocol errors)
  -h, --help                 show this help

Logs are pino JSON lines on stdout (pretty when stdout is a terminal). Once listening, one
line says "hato broker listening" with the actual "port", "wsPort", "tlsPort", "wssPort"
(the first of each kind, null when none), "listeners", and where the state is ("persistence",
"data": the SQLite file by default; sessions, queued messages and retained messages survive a
restart or a crash); with --cluster, also "cluster" (the Redis URL, password hidden) and
"nodeId". SIGINT / SIGTERM close the broker
gracefully (wills are published, those waiting for a delay stay stored with a durable store;
5.0 clients get DISCONNECT 0x8B) and exit 0; SIGHUP reloads
the password file, the ACL and the TLS certificates.
`;

interface Parsed {
  flags: BrokerFlags;
  configFile: string | undefined;
  printConfig: boolean;
  verbose: boolean;
}

function parsePort(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (text.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name} must be a port number (0..65535), not '${text}'`);
  return port;
}

function parseSeconds(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isInteger(seconds) || seconds < 0) throw new Error(`${name} must be a whole number of seconds ≥ 0, not '${text}'`);
  return seconds;
}

function parse(argv: string[]): Parsed | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      'print-config': { type: 'boolean', default: false },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      'ws-port': { type: 'string' },
      'no-ws': { type: 'boolean', default: false },
      'tls-port': { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      cafile: { type: 'string' },
      'password-file': { type: 'string' },
      'acl-file': { type: 'string' },
      'allow-anonymous': { type: 'boolean', default: false },
      'admin-port': { type: 'string' },
      'admin-host': { type: 'string' },
      'sys-interval': { type: 'string' },
      persistence: { type: 'string' },
      'data-dir': { type: 'string' },
      cluster: { type: 'string' },
      verbose: { type: 'boolean', short: 'v', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const flags: BrokerFlags = {
    port: parsePort(values.port, '--port'),
    host: values.host,
    wsPort: parsePort(values['ws-port'], '--ws-port'),
    noWs: values['no-ws'],
    tlsPort: parsePort(values['tls-port'], '--tls-port'),
    cert: values.cert,
    key: values.key,
    cafile: values.cafile,
    passwordFile: values['password-file'],
    aclFile: values['acl-file'],
    allowAnonymous: values['allow-anonymous'] ? true : undefined,
    adminPort: parsePort(values['admin-port'], '--admin-port'),
    adminHost: values['admin-host'],
    sysInterval: parseSeconds(values['sys-interval'], '--sys-interval'),
    persistence: values.persistence,
    dataDir: values['data-dir'],
    cluster: values.cluster,
  };
  return { flags, configFile: values.config, printConfig: values['print-config'], verbose: values.verbose };
}

/** `hato broker`: runs until SIGINT/SIGTERM; resolves with the exit code. */
export async function run(argv: string[]): Promise<number> {
  let parsed: Parsed | 'help';
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`hato broker: ${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
    return 1;
  }
  if (parsed === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  let config: ReturnType<typeof effectiveConfig>;
  try {
    const file = parsed.configFile === undefined ? undefined : await loadConfigFile(parsed.configFile);
    config = effectiveConfig(file, parsed.flags);
  } catch (err) {
    if (!(err instanceof ConfigError) && !(err instanceof StartRefusedError)) throw err;
    process.stderr.write(`hato broker: ${err.message}\n`);
    return 1;
  }
  if (parsed.printConfig) {
    process.stdout.write(`${JSON.stringify(printable(config), null, 2)}\n`);
    return 0;
  }
  const code = await serve(config, createLogger(parsed.verbose));
  // Whatever still holds the event loop (a socket that would not close) does not hold the exit.
  setTimeout(() => process.exit(code), 1000).unref();
  return code;
}
