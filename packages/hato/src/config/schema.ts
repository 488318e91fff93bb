import { z } from 'zod';
import { type ClusterSetting, clusterProblem } from './cluster.js';
import { persistenceProblem } from './persistence.js';

/**
 * The `hato broker` config file, as a zod schema: BrokerOptions names, plus listeners, the
 * password / ACL files, anonymous access, the admin listener, $SYS and the adapters.
 * docs/config.md documents every key; keep the two together.
 */

/** A number or boolean may come from `${ENV}` as text: "1883" → 1883, "true" → true. */
function fromText(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return value;
}

const int = (min: number, max: number, message: string) =>
  z.preprocess(fromText, z.number({ invalid_type_error: message, required_error: 'is required' }).int(message).min(min, message).max(max, message));

const bool = z.preprocess(fromText, z.boolean({ invalid_type_error: 'must be true or false' }));
const count = int(0, Number.MAX_SAFE_INTEGER, 'must be a whole number ≥ 0');
const positive = int(1, Number.MAX_SAFE_INTEGER, 'must be a whole number ≥ 1');
const u16 = (min: number) => int(min, 65535, `must be ${min}-65535`);
const port = int(0, 65535, 'must be 0-65535 (0 picks a free port)');
const text = z.string({ invalid_type_error: 'must be a string' }).min(1, 'must not be empty');

export const LISTENER_TYPES = ['tcp', 'tls', 'ws', 'wss'] as const;
export type ListenerType = (typeof LISTENER_TYPES)[number];

const listenerSchema = z
  .object({
    type: z.enum(LISTENER_TYPES, { errorMap: (issue) => ({ message: issue.code === 'invalid_type' && issue.received === 'undefined' ? 'is required' : `must be one of ${LISTENER_TYPES.join(', ')}` }) }),
    port,
    host: text.optional(),
    name: text.optional(),
    path: text.refine((p) => p.startsWith('/'), 'must start with /').optional(),
    protocolVersions: z
      .array(z.preprocess(fromText, z.union([z.literal(3), z.literal(4), z.literal(5)], { errorMap: () => ({ message: 'must be 3, 4 or 5' }) })))
      .min(1, 'must list at least one of 3, 4, 5')
      .optional(),
    maxConnections: positive.optional(),
    cert: text.optional(),
    key: text.optional(),
    ca: text.optional(),
    passphrase: z.string().optional(),
    requireClientCert: bool.optional(),
    useCommonNameAsUsername: bool.optional(),
    allowedOrigins: z.array(text).optional(),
  })
  .strict()
  .superRefine((listener, ctx) => {
    const secure = listener.type === 'tls' || listener.type === 'wss';
    const web = listener.type === 'ws' || listener.type === 'wss';
    const problem = (key: string, message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message });
    if (secure && listener.cert === undefined) problem('cert', `required for a ${listener.type} listener`);
    if (secure && listener.key === undefined) problem('key', `required for a ${listener.type} listener`);
    for (const key of ['cert', 'key', 'ca', 'passphrase', 'requireClientCert', 'useCommonNameAsUsername'] as const) {
      if (!secure && listener[key] !== undefined) problem(key, `only for tls and wss listeners, not ${listener.type}`);
    }
    for (const key of ['path', 'allowedOrigins'] as const) {
      if (!web && listener[key] !== undefined) problem(key, `only for ws and wss listeners, not ${listener.type}`);
    }
    if (listener.requireClientCert === true && listener.ca === undefined) problem('ca', 'required with requireClientCert (the CA that signs client certificates)');
    if (listener.useCommonNameAsUsername === true && listener.requireClientCert !== true) problem('useCommonNameAsUsername', 'needs requireClientCert: true');
  });

export type ListenerConfig = z.infer<typeof listenerSchema>;

/** The BrokerOptions a file can set (the ports and hooks are code, not config). */
const brokerOptionsShape = {
  connectTimeoutMs: positive.optional(),
  maximumPacketSize: int(16, 268_435_460, 'must be 16-268435460').optional(),
  maxClientIdLength: u16(1).optional(),
  maxClientIdLengthV31: u16(1).optional(),
  maxTopicLength: u16(1).optional(),
  maxTopicLevels: positive.optional(),
  maxQueuedMessages: count.optional(),
  maxQueuedBytes: count.optional(),
  queueQoS0Messages: bool.optional(),
  maxInflightMessages: u16(1).optional(),
  receiveMaximum: u16(1).optional(),
  maxKeepAlive: u16(1).optional(),
  topicAliasMaximum: u16(0).optional(),
  maxMemoryBytes: positive.optional(),
  maxClientStateBytes: positive.optional(),
  maxWriteQueuePackets: positive.optional(),
  maxWriteQueueBytes: positive.optional(),
  retainAvailable: bool.optional(),
  wildcardSubscriptions: bool.optional(),
  sharedSubscriptions: bool.optional(),
  subscriptionIdentifiers: bool.optional(),
  maximumQoS: z.preprocess(fromText, z.union([z.literal(0), z.literal(1), z.literal(2)], { errorMap: () => ({ message: 'must be 0, 1 or 2' }) })).optional(),
  topicAliasesToClients: bool.optional(),
  maxSubscriptionsPerClient: positive.optional(),
  maxRetainedMessages: count.optional(),
  maxConnections: positive.optional(),
  responseInformation: text.optional(),
  serverRedirect: z.object({ serverReference: text, permanent: bool.optional() }).strict().optional(),
};

export const BROKER_OPTION_KEYS = Object.keys(brokerOptionsShape) as (keyof typeof brokerOptionsShape)[];

export const configSchema = z
  .object({
    ...brokerOptionsShape,
    listeners: z.array(listenerSchema).min(1, 'must list at least one listener').optional(),
    passwordFile: text.optional(),
    aclFile: text.optional(),
    allowAnonymous: bool.optional(),
    admin: z.object({ port, host: text.optional() }).strict().optional(),
    sysInterval: count.optional(),
    dataDir: text.optional(),
    persistence: z
      .union([text, z.object({ type: text }).passthrough()])
      .superRefine((value, ctx) => {
        const problem = persistenceProblem(value);
        if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
      })
      .optional(),
    cluster: z
      .custom<ClusterSetting>((value) => value !== undefined)
      .superRefine((value, ctx) => {
        const problem = clusterProblem(value);
        if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
      })
      .optional(),
  })
  .strict();

export type HatoConfig = z.infer<typeof configSchema>;

/** `listeners[1].port: must be 0-65535 (0 picks a free port)`, one line per problem. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const at = issue.path.reduce<string>((path, part) => (typeof part === 'number' ? `${path}[${part}]` : path === '' ? part : `${path}.${part}`), '');
    if (issue.code === z.ZodIssueCode.unrecognized_keys) {
      return issue.keys.map((key) => `${at === '' ? key : `${at}.${key}`}: unknown key`).join('\n');
    }
    return `${at === '' ? '(top level)' : at}: ${issue.message}`;
  });
}
