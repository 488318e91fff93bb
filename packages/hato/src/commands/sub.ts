/**
 * `hato sub`: subscribe and print messages, like mosquitto_sub (-t repeatable, -v, -F
 * format, -C count, -W timeout, -R, -T, -N, -E, -U, --retained-only, --remove-retained). Exit
 * codes as mosquitto: see `run`.
 */
import { type PublishPacket, topicMatches } from '@hato/protocol';
import { ClientClosedError, type MqttClient, SubscribeError, type SubscribeOptions } from '@hato/client/node';
import { commonFlags, type FlagSpec, intArg, type ParsedArgs, parseArgs, UsageError } from './client-args.js';
import { type ClientSetup, clientSetup, connectForCli, report } from './client-connect.js';
import { CliExit } from './client-exit.js';
import { MessageFormat } from './client-format.js';

const flags: FlagSpec[] = [
  ...commonFlags,
  { names: ['-C'], kind: 'value', key: 'count' },
  { names: ['-W'], kind: 'value', key: 'timeout' },
  { names: ['-v', '--verbose'], kind: 'bool', key: 'verbose' },
  { names: ['-F'], kind: 'value', key: 'format' },
  { names: ['-N'], kind: 'bool', key: 'noEol' },
  { names: ['-R'], kind: 'bool', key: 'noRetained' },
  { names: ['-E'], kind: 'bool', key: 'exitOnSubscribe' },
  { names: ['-T', '--filter-out'], kind: 'list', key: 'filterOut' },
  { names: ['-U', '--unsubscribe'], kind: 'list', key: 'unsubscribe' },
  { names: ['--retained-only'], kind: 'bool', key: 'retainedOnly' },
  { names: ['--remove-retained'], kind: 'bool', key: 'removeRetained' },
];

export const usage = `Usage: hato sub {[-h host] [-p port] [-u username] [-P password] -t topic ... | -L URL [-t topic]}
                [-c] [-k keepalive] [-q qos] [-x session-expiry-interval]
                [-C msg_count] [-E] [-F format] [-R] [--retained-only] [--remove-retained]
                [-T filter_out] [-U topic ...] [-W timeout_secs]
                [-i id] [-I id_prefix] [-d] [-N] [--quiet] [-v] [-V mqttv5|mqttv311|mqttv31]
                [--will-topic [--will-payload payload] [--will-qos qos] [--will-retain]]
                [--cafile file [--cert file] [--key file] [--insecure]] [--ws [--ws-path /mqtt]]
                [-D command identifier value]

 -t : topic filter to subscribe to, may be repeated.  -v : print "topic payload".
 -F : output format, as mosquitto_sub: %t topic, %p payload, %x/%X hex payload, %l length,
      %q QoS, %r retained, %m message id, %j/%J JSON, %I/%U time, %A %C %D %E %F %P %R %S
      5.0 properties, %% a %; flags %-10.5t, %08x; @Y @m @d @H @M @S @s @N ... strftime;
      \\n \\t \\r \\v \\a \\e \\0 \\\\ escapes. Overrides -v; a newline follows unless -N.
 -C : exit after that many messages.   -W : exit (code 27) after that many seconds.
 -R : do not print retained messages.  -T : topic filter to leave out, may be repeated.
 -E : exit once subscribed.            -N : no newline after the payload.
 -U : unsubscribe from a topic filter once connected, may be repeated.
 --retained-only : only handle retained messages; exit at the first message that is not retained.
 --remove-retained : clear each retained message received (an empty retained PUBLISH); not those -R or -T leave out.
 -V : protocol version, default mqttv5.
 -D : MQTT 5.0 property, e.g. -D subscribe user-property k v, -D connect session-expiry-interval 60
`;

interface SubRun {
  client: MqttClient;
  setup: ClientSetup;
  args: ParsedArgs;
  count: number | undefined;
  exit: CliExit;
  format: MessageFormat | undefined;
}

function printer(run: SubRun): (packet: PublishPacket) => void {
  const { args } = run;
  const filterOut = args.lists.filterOut ?? [];
  const verbose = args.flags.has('verbose');
  const eol = args.flags.has('noEol') ? '' : '\n';
  let received = 0;
  const retainedOnly = args.flags.has('retainedOnly');
  const removeRetained = args.flags.has('removeRetained');
  return (packet) => {
    const { topic, payload, retain } = packet;
    if (run.exit.finished) return;
    if (retainedOnly && !retain) {
      run.exit.finish(0);
      return;
    }
    // In mosquitto_sub's order: -R, then -T, then --remove-retained (so -R keeps them).
    if (retain && args.flags.has('noRetained')) return;
    if (filterOut.some((f) => topicMatches(f, topic))) return;
    if (removeRetained && retain) run.client.publish(topic, '', { retain: true }).catch(() => {});
    if (run.format !== undefined) {
      const { stdout, stderr } = run.format.format(packet);
      process.stdout.write(stdout);
      for (const line of stderr) process.stderr.write(`${line}\n`);
    } else if (payload.length > 0) {
      // As mosquitto_sub: an empty payload prints nothing, or `topic (null)` with -v (and a newline).
      const head = verbose ? `${topic} ` : '';
      process.stdout.write(Buffer.concat([Buffer.from(head), payload, Buffer.from(eol)]));
    } else if (verbose && eol !== '') process.stdout.write(`${topic} (null)\n`);
    if (run.count !== undefined && ++received >= run.count) run.exit.finish(0);
  };
}

/**
 * Subscribes without holding up the exit: the outcome only ever calls `exit.finish`
 * (-E, all denied, an error), so -C, -W and signals work while the SUBACK is awaited.
 */
async function subscribeAll(run: SubRun): Promise<void> {
  const options: SubscribeOptions = { qos: run.setup.qos };
  if (run.setup.properties.subscribe) options.properties = run.setup.properties.subscribe;
  const subscribed = run.client.subscribe(run.setup.topics, options);
  // -U goes out after the SUBSCRIBE, as with mosquitto_sub.
  const unsubscribe = run.args.lists.unsubscribe;
  if (unsubscribe !== undefined) run.client.unsubscribe(unsubscribe).catch(() => {});
  try {
    await subscribed;
  } catch (err) {
    if (err instanceof ClientClosedError) return; // ending for another cause
    if (!(err instanceof SubscribeError)) {
      run.exit.finish(1, `Error: ${(err as Error).message}`);
      return;
    }
    if (err.reasonCodes.every((c) => c >= 0x80)) {
      run.exit.finish(1, 'All subscription requests were denied.');
      return;
    }
    report(run.args.flags.has('quiet'), `Warning: ${err.message}`);
  }
  if (run.args.flags.has('exitOnSubscribe')) run.exit.finish(0);
}

type Parsed = {
  args: ParsedArgs;
  setup: ClientSetup;
  count: number | undefined;
  timeout: number | undefined;
  format: MessageFormat | undefined;
};

function parse(argv: string[]): Parsed | number {
  try {
    const args = parseArgs(argv, flags);
    if (args.flags.has('help')) {
      process.stdout.write(usage);
      return 0;
    }
    const setup = clientSetup(args, 'hato_sub_');
    if (setup.topics.length === 0) throw new UsageError('You must specify a topic to subscribe to (-t).');
    const count = intArg(args, 'count', 'message count', 1, Number.MAX_SAFE_INTEGER);
    const timeout = intArg(args, 'timeout', 'timeout', 1, 3_600_000);
    const f = args.values.format;
    const format = f === undefined ? undefined : new MessageFormat(f, !args.flags.has('noEol'));
    return { args, setup, count, timeout, format };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`Error: ${err.message}\nUse 'hato sub --help' to see usage.\n`);
    return 1;
  }
}

/**
 * Exit codes as mosquitto_sub: 0 after -C, -E or a signal once a CONNACK came; 27 and
 * `Timed out` after -W; 255 (silent) for a signal or -W before any CONNACK; 2 when the
 * broker breaks the protocol; the CONNACK code on refusal; 1 on other errors.
 */
export async function run(argv: string[]): Promise<number> {
  const parsed = parse(argv);
  if (typeof parsed === 'number') return parsed;
  const { args, setup, count, timeout, format } = parsed;
  const quiet = args.flags.has('quiet');
  let connackSeen = false;
  const exit = new CliExit(quiet, () => (connackSeen ? 0 : 255));
  const timer =
    timeout === undefined
      ? undefined
      : setTimeout(() => (connackSeen ? exit.finish(27, 'Timed out') : exit.finish(255)), timeout * 1000);
  try {
    let state: SubRun | undefined;
    const client = await connectForCli(setup, args.flags.has('debug'), exit, (c) => {
      state = { client: c, setup, args, count, exit, format };
      const print = printer(state);
      c.on('message', (_topic, _payload, packet) => print(packet));
    });
    if (typeof client === 'number') return client;
    connackSeen = true;
    void subscribeAll(state!);
    const code = await exit.done;
    clearTimeout(timer);
    await client.end({ timeout: 2000 });
    return code;
  } finally {
    clearTimeout(timer);
    exit.dispose();
  }
}
