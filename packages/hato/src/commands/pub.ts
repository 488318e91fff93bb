/**
 * `hato pub`: publish one message (-m, -n, -f, -s) or one per stdin line (-l), like
 * mosquitto_pub. Exit codes as mosquitto: CONNACK reason code on refusal, 1 on errors.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ClientClosedError, type MqttClient, type PublishOptions } from '@hato/client/node';
import { commonFlags, type FlagSpec, intArg, type ParsedArgs, parseArgs, UsageError } from './client-args.js';
import { type ClientSetup, clientSetup, connectForCli } from './client-connect.js';
import { CliExit } from './client-exit.js';

const flags: FlagSpec[] = [
  ...commonFlags,
  { names: ['-m', '--message'], kind: 'value', key: 'message' },
  { names: ['-f', '--file'], kind: 'value', key: 'file' },
  { names: ['-l', '--stdin-line'], kind: 'bool', key: 'lines' },
  { names: ['-s', '--stdin-file'], kind: 'bool', key: 'stdin' },
  { names: ['-n', '--null-message'], kind: 'bool', key: 'null' },
  { names: ['-r', '--retain'], kind: 'bool', key: 'retain' },
  { names: ['--repeat'], kind: 'value', key: 'repeat' },
  { names: ['--repeat-delay'], kind: 'value', key: 'repeatDelay' },
];

export const usage = `Usage: hato pub {[-h host] [-p port] [-u username] [-P password] -t topic | -L URL}
                {-f file | -l | -n | -m message | -s}
                [-c] [-k keepalive] [-q qos] [-r] [--repeat N] [--repeat-delay time] [-x session-expiry-interval]
                [-i id] [-I id_prefix] [-d] [--quiet] [-V mqttv5|mqttv311|mqttv31]
                [--will-topic [--will-payload payload] [--will-qos qos] [--will-retain]]
                [--cafile file [--cert file] [--key file] [--insecure]] [--ws [--ws-path /mqtt]]
                [-D command identifier value]

 -m : message payload to send.      -n : send a null (zero length) message.
 -f : send the contents of a file.  -s : read the message from stdin, sending the whole input.
 -l : read messages from stdin, sending a separate message for each line.
 -r : retain the message.           -q : QoS 0, 1 or 2 (default 0).
 --repeat : with -f, -m, -n or -s, publish the message N times.
 --repeat-delay : with --repeat, wait that many seconds (may be fractional) between publishes.
 -V : protocol version, default mqttv5.  -L : mqtt(s)://[user[:pass]@]host[:port]/topic
 -D : MQTT 5.0 property, e.g. -D publish user-property key value, -D connect session-expiry-interval 60
`;

type Source = { kind: 'message'; payload: string | Uint8Array; repeat: number; delayMs: number } | { kind: 'lines' };

function source(args: ParsedArgs): Source {
  const { values, flags: flagSet } = args;
  const chosen = ['message', 'file'].filter((k) => values[k] !== undefined).concat(['lines', 'stdin', 'null'].filter((k) => flagSet.has(k)));
  if (chosen.length !== 1) throw new UsageError('Exactly one of -m, -f, -l, -n or -s must be given.');
  if (flagSet.has('lines')) return { kind: 'lines' };
  const repeat = intArg(args, 'repeat', 'repeat count', 1, Number.MAX_SAFE_INTEGER) ?? 1;
  const delay = values.repeatDelay === undefined ? 0 : Number(values.repeatDelay);
  if (!(delay >= 0)) throw new UsageError(`Invalid repeat delay '${values.repeatDelay}'.`);
  const payload =
    values.message ?? (values.file !== undefined ? readFileSync(values.file) : flagSet.has('stdin') ? readFileSync(0) : '');
  return { kind: 'message', payload, repeat, delayMs: delay * 1000 };
}

async function publishAll(client: MqttClient, setup: ClientSetup, src: Source, retain: boolean): Promise<void> {
  const topic = setup.topics[0]!;
  const options: PublishOptions = { qos: setup.qos, retain };
  if (setup.properties.publish) options.properties = setup.properties.publish;
  if (src.kind === 'message') {
    for (let i = 0; i < src.repeat; i++) {
      if (i > 0 && src.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, src.delayMs));
      await client.publish(topic, src.payload, options);
    }
    return;
  }
  const pending: Promise<unknown>[] = [];
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    const p = client.publish(topic, line, options);
    if (setup.qos > 0) pending.push(p);
    if (pending.length >= 100) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}

type Parsed = { args: ReturnType<typeof parseArgs>; setup: ClientSetup; src: Source };

function parse(argv: string[]): Parsed | number {
  try {
    const args = parseArgs(argv, flags);
    if (args.flags.has('help')) {
      process.stdout.write(usage);
      return 0;
    }
    const setup = clientSetup(args, 'hato_pub_');
    if (setup.topics.length !== 1) throw new UsageError('A single topic must be given with -t or -L.');
    const src = source(args);
    if (src.kind === 'lines') setup.options.reconnect = { initialDelay: 1000, maxDelay: 10_000 };
    else setup.options.reconnect = false;
    return { args, setup, src };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`Error: ${err.message}\nUse 'hato pub --help' to see usage.\n`);
    return 1;
  }
}

/**
 * Exit codes as mosquitto_pub: 0 once published (acknowledged at QoS 1/2) and
 * disconnected; the CONNACK code on refusal; 2 when the broker breaks the protocol;
 * 1 on other errors; 128 + signal number (130, 143) for SIGINT / SIGTERM, whatever
 * the state of the connection.
 */
export async function run(argv: string[]): Promise<number> {
  const parsed = parse(argv);
  if (typeof parsed === 'number') return parsed;
  const { args, setup, src } = parsed;
  const exit = new CliExit(args.flags.has('quiet'), (signal) => (signal === 'SIGINT' ? 130 : 143));
  try {
    const client = await connectForCli(setup, args.flags.has('debug'), exit);
    if (typeof client === 'number') return client;
    publishAll(client, setup, src, args.flags.has('retain')).then(
      () => exit.finish(0),
      (err: Error) => {
        if (!(err instanceof ClientClosedError)) exit.finish(1, `Error: ${err.message}`);
      },
    );
    const code = await exit.done;
    const disconnect = setup.properties.disconnect;
    if (code !== 0) await client.end({ force: true });
    else await client.end(disconnect ? { properties: disconnect, timeout: 2000 } : { timeout: 2000 });
    return code;
  } finally {
    exit.dispose();
  }
}
