/**
 * `hato sub`: subscribe and print messages, like mosquitto_sub (-t repeatable, -v,
 * -C count, -W timeout, -R, -T, -N, -E). Exit codes as mosquitto: CONNACK reason code
 * on refusal, 27 on -W timeout, 1 on errors.
 */
import { topicMatches } from '@hato/protocol';
import { type MqttClient, SubscribeError, type SubscribeOptions } from '@hato/client/node';
import { commonFlags, type FlagSpec, intArg, type ParsedArgs, parseArgs, UsageError } from './client-args.js';
import { type ClientSetup, clientSetup, connectForCli, report } from './client-connect.js';

const flags: FlagSpec[] = [
  ...commonFlags,
  { names: ['-C'], kind: 'value', key: 'count' },
  { names: ['-W'], kind: 'value', key: 'timeout' },
  { names: ['-v', '--verbose'], kind: 'bool', key: 'verbose' },
  { names: ['-N'], kind: 'bool', key: 'noEol' },
  { names: ['-R'], kind: 'bool', key: 'noRetained' },
  { names: ['-E'], kind: 'bool', key: 'exitOnSubscribe' },
  { names: ['-T', '--filter-out'], kind: 'list', key: 'filterOut' },
];

export const usage = `Usage: hato sub {[-h host] [-p port] [-u username] [-P password] -t topic ... | -L URL [-t topic]}
                [-c] [-k keepalive] [-q qos] [-x session-expiry-interval]
                [-C msg_count] [-E] [-R] [-T filter_out] [-W timeout_secs]
                [-i id] [-I id_prefix] [-d] [-N] [--quiet] [-v] [-V mqttv5|mqttv311|mqttv31]
                [--will-topic [--will-payload payload] [--will-qos qos] [--will-retain]]
                [--cafile file [--cert file] [--key file] [--insecure]] [--ws [--ws-path /mqtt]]
                [-D command identifier value]

 -t : topic filter to subscribe to, may be repeated.  -v : print "topic payload".
 -C : exit after that many messages.   -W : exit (code 27) after that many seconds.
 -R : do not print retained messages.  -T : topic filter to leave out, may be repeated.
 -E : exit once subscribed.            -N : no newline after the payload.
 -V : protocol version, default mqttv5.
 -D : MQTT 5.0 property, e.g. -D subscribe user-property k v, -D connect session-expiry-interval 60
`;

interface SubRun {
  client: MqttClient;
  setup: ClientSetup;
  args: ParsedArgs;
  count: number | undefined;
  finish(code: number): void;
}

function printer(run: SubRun): (topic: string, payload: Uint8Array, retain: boolean) => void {
  const { args } = run;
  const filterOut = args.lists.filterOut ?? [];
  const verbose = args.flags.has('verbose');
  const eol = args.flags.has('noEol') ? '' : '\n';
  let received = 0;
  return (topic, payload, retain) => {
    if (retain && args.flags.has('noRetained')) return;
    if (filterOut.some((f) => topicMatches(f, topic))) return;
    const head = verbose ? `${topic} ` : '';
    process.stdout.write(Buffer.concat([Buffer.from(head), payload, Buffer.from(eol)]));
    if (run.count !== undefined && ++received >= run.count) run.finish(0);
  };
}

async function subscribeAll(run: SubRun, quiet: boolean): Promise<boolean> {
  const options: SubscribeOptions = { qos: run.setup.qos };
  if (run.setup.properties.subscribe) options.properties = run.setup.properties.subscribe;
  try {
    await run.client.subscribe(run.setup.topics, options);
    return true;
  } catch (err) {
    if (!(err instanceof SubscribeError)) throw err;
    if (err.reasonCodes.every((c) => c >= 0x80)) {
      report(quiet, 'All subscription requests were denied.');
      return false;
    }
    report(quiet, `Warning: ${err.message}`);
    return true;
  }
}

export async function run(argv: string[]): Promise<number> {
  let args: ParsedArgs;
  let setup: ClientSetup;
  let count: number | undefined;
  let timeout: number | undefined;
  try {
    args = parseArgs(argv, flags);
    if (args.flags.has('help')) {
      process.stdout.write(usage);
      return 0;
    }
    setup = clientSetup(args, 'hato_sub_');
    if (setup.topics.length === 0) throw new UsageError('You must specify a topic to subscribe to (-t).');
    count = intArg(args, 'count', 'message count', 1, Number.MAX_SAFE_INTEGER);
    timeout = intArg(args, 'timeout', 'timeout', 1, 3_600_000);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`Error: ${err.message}\nUse 'hato sub --help' to see usage.\n`);
    return 1;
  }
  const quiet = args.flags.has('quiet');
  const client = await connectForCli(setup, args.flags.has('debug'), quiet);
  if (typeof client === 'number') return client;
  let finish!: (code: number) => void;
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const state: SubRun = { client, setup, args, count, finish };
  const print = printer(state);
  client.on('message', (topic, payload, packet) => print(topic, payload, packet.retain));
  const timer = timeout === undefined ? undefined : setTimeout(() => {
    report(quiet, 'Timed out');
    finish(27);
  }, timeout * 1000);
  const onSignal = () => finish(0);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  client.on('end', () => finish(1));
  if (!(await subscribeAll(state, quiet))) finish(1);
  else if (args.flags.has('exitOnSubscribe')) finish(0);
  const code = await done;
  clearTimeout(timer);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await client.end({ timeout: 2000 });
  return code;
}
