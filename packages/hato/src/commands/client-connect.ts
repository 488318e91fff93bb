/**
 * Turns parsed `hato pub` / `hato sub` arguments into a connected client, with
 * mosquitto's conventions: exit code = CONNACK reason code on refusal, 1 on a
 * network error; `-d` prints packets as mosquitto does.
 */
import { readFileSync } from 'node:fs';
import type { Packet, Properties, ProtocolVersion, QoS } from '@hato/protocol';
import { type ClientOptions, ConnectError, connect, type MqttClient, ServerProtocolError } from '@hato/client/node';
import { intArg, type ParsedArgs, UsageError } from './client-args.js';
import { type CliExit, finishOnGiveUp, PROTOCOL_ERROR_CODE, PROTOCOL_ERROR_MESSAGE } from './client-exit.js';
import { buildProperties } from './client-properties.js';

export interface ClientSetup {
  url: string;
  options: ClientOptions;
  qos: QoS;
  topics: string[];
  properties: Record<string, Properties>;
}

const versions: Record<string, ProtocolVersion> = { mqttv31: 3, '31': 3, mqttv311: 4, '311': 4, mqttv5: 5, '5': 5 };

function urlSetup(args: ParsedArgs, tls: boolean): { url: string; topic?: string } {
  const raw = args.values.url;
  if (raw === undefined) {
    const scheme = args.flags.has('ws') ? (tls ? 'wss' : 'ws') : tls ? 'mqtts' : 'mqtt';
    const host = args.values.host ?? 'localhost';
    const port = args.values.port ?? (tls ? '8883' : '1883');
    const h = host.includes(':') ? `[${host}]` : host;
    return { url: `${scheme}://${h}:${port}${args.values.wsPath ?? ''}` };
  }
  const m = /^(mqtts?|wss?):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/:]+|\[[^\]]+\])(?::(\d+))?(?:\/(.*))?$/.exec(raw);
  if (m === null) throw new UsageError(`Invalid URL for -L: '${raw}'.`);
  const [, scheme, user, pass, host, port] = m;
  if (user) args.values.username ??= decodeURIComponent(user);
  if (pass) args.values.password ??= decodeURIComponent(pass);
  const isWs = scheme!.startsWith('ws');
  const path = m[6] ?? '';
  // mqtt(s)://host/topic: the path is the topic; ws(s)://host/path: the WebSocket path.
  const url = `${scheme}://${host}:${port ?? (scheme === 'mqtts' ? 8883 : scheme === 'mqtt' ? 1883 : scheme === 'wss' ? 443 : 80)}`;
  return isWs ? { url: `${url}/${path}` } : path ? { url, topic: decodeURIComponent(path) } : { url };
}

/** Builds the URL and client options; throws UsageError on bad arguments. */
export function clientSetup(args: ParsedArgs, defaultIdPrefix: string): ClientSetup {
  const tls = args.values.cafile !== undefined || args.values.cert !== undefined || args.flags.has('insecure');
  const { url, topic } = urlSetup(args, tls);
  const version = versions[args.values.version ?? '5'];
  if (version === undefined) throw new UsageError(`Invalid protocol version '${args.values.version}'.`);
  const properties = buildProperties(args.properties);
  if (args.properties.length > 0 && version !== 5) throw new UsageError('-D properties need MQTT v5 (-V 5).');
  const qos = (intArg(args, 'qos', 'QoS', 0, 2) ?? 0) as QoS;
  const options: ClientOptions = {
    protocolVersion: version,
    clientId: args.values.id ?? `${args.values.idPrefix ?? defaultIdPrefix}${process.pid}`,
    keepalive: intArg(args, 'keepalive', 'keepalive', 0, 65_535) ?? 60,
    clean: !args.flags.has('persistent'),
    reconnect: { initialDelay: 1000, maxDelay: 10_000 },
  };
  const expiry = intArg(args, 'sessionExpiry', 'session expiry interval', -1, 0xffffffff);
  if (expiry !== undefined) options.sessionExpiryInterval = expiry === -1 ? 0xffffffff : expiry;
  if (args.values.username !== undefined) options.username = args.values.username;
  if (args.values.password !== undefined) options.password = args.values.password;
  if (properties.connect) options.properties = properties.connect;
  if (args.values.willTopic !== undefined) {
    options.will = {
      topic: args.values.willTopic,
      payload: args.values.willPayload ?? '',
      qos: (intArg(args, 'willQos', 'will QoS', 0, 2) ?? 0) as QoS,
      retain: args.flags.has('willRetain'),
    };
    if (properties.will) options.will.properties = properties.will;
  } else if (args.values.willPayload !== undefined) throw new UsageError('Will payload given, but no will topic given.');
  if (args.values.cafile) options.ca = readFileSync(args.values.cafile, 'utf8');
  if (args.values.cert) options.cert = readFileSync(args.values.cert, 'utf8');
  if (args.values.key) options.key = readFileSync(args.values.key, 'utf8');
  if (args.flags.has('insecure')) options.rejectUnauthorized = false;
  const topics = [...(args.lists.topic ?? []), ...(topic ? [topic] : [])];
  return { url, options, qos, topics, properties };
}

function describe(p: Packet): string {
  switch (p.type) {
    case 'publish':
      return `PUBLISH (d${+p.dup}, q${p.qos}, r${+p.retain}, m${p.packetId ?? 0}, '${p.topic}'${p.properties?.topicAlias ? ` alias ${p.properties.topicAlias}` : ''}, ... (${p.payload.length} bytes))`;
    case 'connack':
      return `CONNACK (${p.reasonCode})`;
    case 'subscribe':
      return `SUBSCRIBE (Mid: ${p.packetId}, ${p.subscriptions.map((s) => `Topic: ${s.topicFilter}, QoS: ${s.qos}`).join('; ')})`;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return `${p.type.toUpperCase()} (m${p.packetId}, rc${p.reasonCode ?? 0})`;
    default:
      return p.type.toUpperCase();
  }
}

/**
 * Connects; resolves with the client, or with an exit code when the first connection
 * fails or `exit` chose one first (a signal, -W) while connecting.
 */
export async function connectForCli(
  setup: ClientSetup,
  debug: boolean,
  exit: CliExit,
  /** Attaches listeners before any packet can arrive (a PUBLISH may share CONNACK's read). */
  prepare?: (client: MqttClient) => void,
): Promise<MqttClient | number> {
  const client = connect(setup.url, setup.options);
  prepare?.(client);
  if (debug) {
    client.on('packetsend', (p) => process.stdout.write(`Client ${client.clientId} sending ${describe(p)}\n`));
    client.on('packetreceive', (p) => process.stdout.write(`Client ${client.clientId} received ${describe(p)}\n`));
  }
  // From the start: a broker that breaks the protocol ends the command (code 2).
  client.on('error', (error) => exit.onClientError(error));
  let accepted = false;
  let firstError: Error | undefined;
  client.once('connect', () => {
    accepted = true;
  });
  // No retry for the first connection, as mosquitto: its failure is the exit code.
  const onClose = (error: Error | undefined) => {
    if (accepted) return;
    firstError ??= error;
    void client.end({ force: true });
  };
  client.on('close', onClose);
  const connected = client.connected();
  connected.catch(() => {});
  const outcome = await Promise.race([connected.then(() => undefined, (err: Error) => err), exit.done]);
  client.off('close', onClose);
  if (typeof outcome === 'number') {
    await client.end({ force: true });
    return outcome;
  }
  if (outcome === undefined) {
    // The client gives up on its own only after a refusal on reconnect, a session taken over, ...
    client.on('end', () => finishOnGiveUp(exit, client));
    if (client.state.status === 'closed') finishOnGiveUp(exit, client);
    return client;
  }
  const error = outcome instanceof ConnectError ? outcome : (firstError ?? outcome);
  if (error instanceof ServerProtocolError) exit.finish(PROTOCOL_ERROR_CODE, PROTOCOL_ERROR_MESSAGE);
  else if (error instanceof ConnectError && error.reasonCode === 0x84 && client.protocolVersion === 5)
    exit.finish(0x84, 'Connection error: the broker refused protocol MQTT 5.0 (Unsupported Protocol Version). Try -V 311.');
  else if (error instanceof ConnectError) exit.finish(error.reasonCode || 1, `Connection error: ${error.message}`);
  else exit.finish(1, `Error: ${networkMessage(error)}`);
  return exit.done;
}

const networkErrors: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ENOTFOUND: 'Host not found',
  EHOSTUNREACH: 'No route to host',
  ETIMEDOUT: 'Connection timed out',
};

function networkMessage(error: Error): string {
  const code = (error.cause as { code?: string } | undefined)?.code;
  return (code && networkErrors[code]) || error.message;
}

export function report(quiet: boolean, message: string): void {
  if (!quiet) process.stderr.write(`${message}\n`);
}
