/**
 * Command-line parsing shared by `hato pub` and `hato sub`, with the options people
 * know from mosquitto_pub / mosquitto_sub. A small hand parser, because `-D` takes
 * three or four values (`-D publish user-property key value`).
 */
export type FlagKind = 'bool' | 'value' | 'list';

export interface FlagSpec {
  names: string[];
  kind: FlagKind;
  key: string;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Flags common to pub and sub. */
export const commonFlags: FlagSpec[] = [
  { names: ['-h', '--host'], kind: 'value', key: 'host' },
  { names: ['-p', '--port'], kind: 'value', key: 'port' },
  { names: ['-u', '--username'], kind: 'value', key: 'username' },
  { names: ['-P', '--pw'], kind: 'value', key: 'password' },
  { names: ['-i', '--id'], kind: 'value', key: 'id' },
  { names: ['-I', '--id-prefix'], kind: 'value', key: 'idPrefix' },
  { names: ['-V', '--protocol-version'], kind: 'value', key: 'version' },
  { names: ['-k', '--keepalive'], kind: 'value', key: 'keepalive' },
  { names: ['-q', '--qos'], kind: 'value', key: 'qos' },
  { names: ['-t', '--topic'], kind: 'list', key: 'topic' },
  { names: ['-L', '--url'], kind: 'value', key: 'url' },
  { names: ['-c', '--disable-clean-session'], kind: 'bool', key: 'persistent' },
  { names: ['-x', '--session-expiry-interval'], kind: 'value', key: 'sessionExpiry' },
  { names: ['-d', '--debug'], kind: 'bool', key: 'debug' },
  { names: ['--quiet'], kind: 'bool', key: 'quiet' },
  { names: ['--will-topic'], kind: 'value', key: 'willTopic' },
  { names: ['--will-payload'], kind: 'value', key: 'willPayload' },
  { names: ['--will-qos'], kind: 'value', key: 'willQos' },
  { names: ['--will-retain'], kind: 'bool', key: 'willRetain' },
  { names: ['--cafile'], kind: 'value', key: 'cafile' },
  { names: ['--cert'], kind: 'value', key: 'cert' },
  { names: ['--key'], kind: 'value', key: 'key' },
  { names: ['--insecure'], kind: 'bool', key: 'insecure' },
  { names: ['--ws'], kind: 'bool', key: 'ws' },
  { names: ['--ws-path'], kind: 'value', key: 'wsPath' },
  { names: ['--help'], kind: 'bool', key: 'help' },
];

/** One `-D command identifier value [value]`. */
export interface PropertyArg {
  command: string;
  identifier: string;
  values: string[];
}

export interface ParsedArgs {
  values: Record<string, string>;
  lists: Record<string, string[]>;
  flags: Set<string>;
  properties: PropertyArg[];
}

export function parseArgs(argv: string[], specs: FlagSpec[]): ParsedArgs {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) for (const n of s.names) byName.set(n, s);
  const out: ParsedArgs = { values: {}, lists: {}, flags: new Set(), properties: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-D' || arg === '--property') {
      const command = argv[++i];
      const identifier = argv[++i];
      const value = argv[++i];
      if (command === undefined || identifier === undefined || value === undefined)
        throw new UsageError('-D argument given but not enough values (-D command identifier value)');
      const values = [value];
      if (identifier === 'user-property') {
        const second = argv[++i];
        if (second === undefined) throw new UsageError('-D user-property needs a name and a value');
        values.push(second);
      }
      out.properties.push({ command, identifier, values });
      continue;
    }
    const spec = byName.get(arg);
    if (spec === undefined) throw new UsageError(`Unknown option '${arg}'.`);
    if (spec.kind === 'bool') {
      out.flags.add(spec.key);
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new UsageError(`${arg} argument given but no value specified.`);
    if (spec.kind === 'value') out.values[spec.key] = value;
    else (out.lists[spec.key] ??= []).push(value);
  }
  return out;
}

export function intArg(args: ParsedArgs, key: string, name: string, min: number, max: number): number | undefined {
  const raw = args.values[key];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`Invalid ${name} '${raw}' (${min}..${max}).`);
  return n;
}
