import { stat } from 'node:fs/promises';
import { type AuthExchange, type AuthMethod, type AuthStep, type BrokerHooks, type Client, type CredentialStore, type Logger, type MaybePromise, ScramSha256, type UserCredentials } from '@hato/broker';
import type { PublishPacket, Subscription } from '@hato/protocol';
import { type AclRules, type CompiledRule, checkSubscription, checkTopic, compileFor, READ, readAclFile, WRITE } from './acl.js';
import { type PasswordEntry, type PasswordHash, readPasswordFile, SCRYPT_COST, verifyPassword } from './password-file.js';
import { LoginThrottle, type ThrottleOptions } from './throttle.js';

export interface AccessControlOptions {
  /** Users (`hato passwd` or mosquitto_passwd files). With it, anonymous clients are refused unless allowAnonymous. */
  passwordFile?: string;
  /** Mosquitto `acl_file` rules. Without it, every client may publish and subscribe to anything but `$SYS`. */
  aclFile?: string;
  /** Accept clients that send no user name (without a password file: every client, as Mosquitto). */
  allowAnonymous: boolean;
  logger: Logger;
  /** Failed-login throttling per IP address (defaults: 500 ms doubling up to 5 s). */
  throttle?: ThrottleOptions;
}

/** The hooks AccessControl provides; authorizeDelivery is set only with an ACL file (it runs per message). */
export type AccessHooks = Required<Pick<BrokerHooks, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>> & Pick<BrokerHooks, 'authorizeDelivery'>;

export interface AccessControl {
  /** Pass as the broker's `hooks` (or use `compose` to keep an embedder's hooks too). */
  readonly hooks: AccessHooks;
  /**
   * The same users for SCRAM-SHA-256 (only users set by `hato passwd` have SCRAM keys). Do
   * NOT pass it as the broker's `credentials`: that path checks passwords against SCRAM keys
   * only (so Mosquitto-made users would be refused) and skips the throttling here.
   */
  readonly credentialStore: CredentialStore;
  /**
   * The broker's `authMethods`: SCRAM-SHA-256 over `credentialStore`, with failed exchanges
   * throttled per IP address like failed passwords (empty without a password file).
   * `new ScramSha256(access.credentialStore)` works too, unthrottled.
   */
  readonly authMethods: AuthMethod[];
  /**
   * The broker hooks with an embedder's own: these files decide first, and the embedder's hook
   * is asked only when they allow (so it can refuse more, or downgrade a granted QoS, never
   * grant what the files refuse). The embedder's other hooks are kept as they are.
   */
  compose(embedder?: BrokerHooks): BrokerHooks;
  /** Re-reads both files (SIGHUP). On error the previous users and rules stay, the reason is logged, and it throws. */
  reload(): Promise<void>;
  readonly throttle: LoginThrottle;
  /** Users and ACL as loaded now (undefined: no such file). */
  readonly users: ReadonlyMap<string, PasswordEntry> | undefined;
  readonly acl: AclRules | undefined;
}

/** Loads the files (throws when one cannot be read or parsed: the broker should not start). */
export async function createAccessControl(options: AccessControlOptions): Promise<AccessControl> {
  const control = new FileAccessControl(options);
  await control.load();
  return control;
}

interface ClientRules {
  readonly acl: AclRules;
  readonly id: string;
  readonly username: string | undefined;
  readonly rules: readonly CompiledRule[];
}

const NOT_AUTHORIZED = 0x87; // 3.x: return code 5
const BAD_CREDENTIALS = 0x86; // 3.x: return code 4

class FileAccessControl implements AccessControl {
  readonly hooks: AccessHooks;
  readonly credentialStore: CredentialStore;
  readonly authMethods: AuthMethod[];
  readonly throttle: LoginThrottle;
  users: Map<string, PasswordEntry> | undefined;
  acl: AclRules | undefined;
  private readonly options: AccessControlOptions;
  private readonly perClient = new WeakMap<Client, ClientRules>();
  private dummy: PasswordHash | undefined;

  constructor(options: AccessControlOptions) {
    this.options = options;
    this.throttle = new LoginThrottle(options.throttle);
    this.hooks = {
      authenticate: (client, username, password) => this.authenticate(client, username, password),
      authorizePublish: (client, packet) => this.authorizePublish(client, packet),
      authorizeSubscribe: (client, subscription) => this.authorizeSubscribe(client, subscription),
      authorizeDelivery: options.aclFile === undefined ? undefined : (client, topic) => checkTopic(this.rulesFor(client, this.acl!), topic, READ),
    };
    this.credentialStore = { get: (username) => this.scramCredentials(username) };
    this.authMethods = options.passwordFile === undefined ? [] : [throttled(new ScramSha256(this.credentialStore), this.throttle, options.logger)];
  }

  async load(): Promise<void> {
    const { passwordFile, aclFile } = this.options;
    const [users, acl] = await Promise.all([
      passwordFile === undefined ? undefined : readPasswordFile(passwordFile),
      aclFile === undefined ? undefined : readAclFile(aclFile),
    ]);
    const readableByOthers = passwordFile !== undefined && ((await stat(passwordFile)).mode & 0o077) !== 0;
    // Both files read and parsed: swapped together, or not at all.
    this.users = users;
    this.acl = acl;
    if (readableByOthers) {
      // The hashes are slow, not secret-proof: offline guessing needs only the file (as Mosquitto warns).
      this.options.logger.warn({ passwordFile }, 'the password file can be read by other users: chmod 600 it');
    }
  }

  async reload(): Promise<void> {
    try {
      await this.load();
    } catch (err) {
      this.options.logger.error({ err: (err as Error).message }, 'reload of the password/ACL files failed: keeping the previous users and rules');
      throw err;
    }
    this.options.logger.info({ users: this.users?.size, aclUsers: this.acl?.users.size }, 'password and ACL files reloaded');
  }

  compose(embedder: BrokerHooks = {}): BrokerHooks {
    const own = this.hooks;
    const authenticate = embedder.authenticate;
    const publish = embedder.authorizePublish;
    const subscribe = embedder.authorizeSubscribe;
    const delivery = embedder.authorizeDelivery;
    const ownDelivery = own.authorizeDelivery;
    return {
      ...embedder,
      authenticate: authenticate === undefined ? own.authenticate : (c, u, p) => then(own.authenticate(c, u, p), () => authenticate.call(embedder, c, u, p)),
      authorizePublish: publish === undefined ? own.authorizePublish : (c, packet) => then(own.authorizePublish(c, packet), () => publish.call(embedder, c, packet)),
      authorizeSubscribe: subscribe === undefined ? own.authorizeSubscribe : (c, s) => then(own.authorizeSubscribe(c, s), () => subscribe.call(embedder, c, s)),
      authorizeDelivery:
        delivery === undefined ? ownDelivery : ownDelivery === undefined ? delivery : (c, topic) => ownDelivery(c, topic) && delivery.call(embedder, c, topic),
    };
  }

  private authenticate(client: Client, username: string | undefined, password: Uint8Array | undefined): MaybePromise<boolean | number> {
    const { allowAnonymous, logger } = this.options;
    if (username === undefined) {
      if (allowAnonymous) return true;
      logger.info({ clientId: client.id, address: client.remoteAddress }, 'anonymous client refused');
      return NOT_AUTHORIZED;
    }
    const users = this.users;
    if (users === undefined) return allowAnonymous ? true : NOT_AUTHORIZED; // no users to check a name against (as Mosquitto)
    const address = client.remoteAddress ?? 'unknown';
    const blocked = this.throttle.blockedFor(address);
    if (blocked > 0) {
      logger.info({ address, username }, `login refused: address throttled for ${blocked} ms`);
      return sleep(blocked).then(() => BAD_CREDENTIALS);
    }
    const entry = users.get(username);
    // An unknown user costs a hash too, so the refusal's timing does not tell which users exist.
    return verifyPassword(entry?.hash ?? this.dummyHash(), password ?? new Uint8Array(0)).then((valid) => {
      if (valid && entry !== undefined) {
        this.throttle.succeeded(address);
        return true;
      }
      const delay = this.throttle.failed(address);
      logger.warn({ address, username, clientId: client.id }, `login failed: bad user name or password (refused after ${delay} ms)`);
      return sleep(delay).then(() => BAD_CREDENTIALS);
    });
  }

  private authorizePublish(client: Client, packet: PublishPacket): boolean {
    const topic = packet.topic;
    // Clients never write the broker's own $SYS tree (as Mosquitto).
    if (topic.startsWith('$SYS/') || topic === '$SYS') return false;
    const acl = this.acl;
    if (acl === undefined) return true;
    const allowed = checkTopic(this.rulesFor(client, acl), topic, WRITE);
    if (!allowed) this.options.logger.debug({ clientId: client.id, username: client.username, topic }, 'publish denied by the ACL');
    return allowed;
  }

  private authorizeSubscribe(client: Client, subscription: Subscription): boolean {
    const acl = this.acl;
    if (acl === undefined) return true;
    const allowed = checkSubscription(this.rulesFor(client, acl), shareFilter(subscription.topicFilter));
    if (!allowed) this.options.logger.debug({ clientId: client.id, username: client.username, filter: subscription.topicFilter }, 'subscribe denied by the ACL');
    return allowed;
  }

  /** The client's compiled rules, made once per client and ACL version (allocation-free afterwards). */
  private rulesFor(client: Client, acl: AclRules): readonly CompiledRule[] {
    const cached = this.perClient.get(client);
    if (cached !== undefined && cached.acl === acl && cached.id === client.id && cached.username === client.username) return cached.rules;
    const rules = compileFor(acl, client.id, client.username);
    this.perClient.set(client, { acl, id: client.id, username: client.username, rules });
    return rules;
  }

  private scramCredentials(username: string): UserCredentials | undefined {
    const hash = this.users?.get(username)?.hash;
    return hash?.kind === 'scrypt' && hash.scram !== undefined ? { username, scramSha256: hash.scram } : undefined;
  }

  private dummyHash(): PasswordHash {
    this.dummy ??= { kind: 'scrypt', cost: SCRYPT_COST, blockSize: 8, parallelization: 1, salt: Buffer.alloc(16, 1), hash: Buffer.alloc(64), scram: undefined };
    return this.dummy;
  }
}

/**
 * An enhanced authentication method whose failures count toward the address's throttle: a
 * failure waits the throttle's delay; an exchange from a blocked address fails (0x86) when the
 * block ends, without being run.
 */
function throttled(method: AuthMethod, throttle: LoginThrottle, logger: Logger): AuthMethod {
  return {
    name: method.name,
    begin(client: Client, reauthentication: boolean): AuthExchange {
      const address = client.remoteAddress ?? 'unknown';
      const exchange = method.begin(client, reauthentication);
      let first = true;
      const judge = (step: AuthStep): MaybePromise<AuthStep> => {
        if (step.outcome === 'success') throttle.succeeded(address);
        if (step.outcome !== 'failure') return step;
        const delay = throttle.failed(address);
        logger.warn({ address, clientId: client.id, method: method.name }, `authentication failed (refused after ${delay} ms)`);
        return sleep(delay).then(() => step);
      };
      return {
        step(data) {
          if (first) {
            first = false;
            const blocked = throttle.blockedFor(address);
            if (blocked > 0) return sleep(blocked).then((): AuthStep => ({ outcome: 'failure', reasonCode: BAD_CREDENTIALS, reason: 'too many failed logins' }));
          }
          const step = exchange.step(data);
          return step instanceof Promise ? step.then(judge) : judge(step);
        },
      };
    },
  };
}

/** `$share/{group}/{filter}` →: the ACL is about the topics, not the group. */
function shareFilter(filter: string): string {
  if (!filter.startsWith('$share/')) return filter;
  const slash = filter.indexOf('/', 7);
  return slash === -1 ? filter : filter.slice(slash + 1);
}

function allows(result: boolean | number): boolean {
  return result === true || (typeof result === 'number' && result < 0x80);
}

/** Runs `next` only when `first` allows; otherwise returns first's refusal. Stays synchronous when both are. */
function then(first: MaybePromise<boolean | number>, next: () => MaybePromise<boolean | number>): MaybePromise<boolean | number> {
  if (typeof first === 'object') return first.then((result) => (allows(result) ? next() : result));
  return allows(first) ? next() : first;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
