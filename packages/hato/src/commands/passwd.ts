/**
 * `hato passwd [-c] [-b] [-D] FILE USER [PASSWORD]`: manage a password file, as
 * mosquitto_passwd does. -c creates (overwrites) the file, -b takes the password from the
 * command line, -D deletes the user; otherwise the password is asked twice (without echo on
 * a terminal; from standard input's lines otherwise). Lines hold scrypt hashes plus SCRAM
 * keys (see security/password-file.ts); other users' lines, Mosquitto's included, are kept.
 */
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { editPasswordText, hashPassword, parsePasswordFile } from '../security/password-file.js';

export const usage = `Usage: hato passwd [-c | -D] FILE USER
       hato passwd [-c] -b FILE USER PASSWORD

 -b : batch mode: the password is given on the command line.
 -c : create a new password file, overwriting an existing one.
 -D : delete the user rather than adding or updating its password.
`;

/** Where the command talks to: replaced in tests. */
export interface PasswdIo {
  /** Asks for a password (no echo on a terminal); undefined when the input ended. */
  readPassword(prompt: string): Promise<string | undefined>;
  out(text: string): void;
  err(text: string): void;
}

export async function run(argv: string[], io: PasswdIo = processIo()): Promise<number> {
  const flags = new Set<string>();
  const positional: string[] = [];
  for (const arg of argv) {
    if (arg === '-h' || arg === '--help') {
      io.out(usage);
      return 0;
    }
    if (/^-[cbD]+$/.test(arg) && positional.length === 0) for (const flag of arg.slice(1)) flags.add(flag);
    else if (arg.startsWith('-') && positional.length === 0) return fail(io, `unknown option '${arg}'`);
    else positional.push(arg);
  }
  const create = flags.has('c');
  const batch = flags.has('b');
  const remove = flags.has('D');
  if (create && remove) return fail(io, '-c and -D cannot be used together');
  if (remove && batch) return fail(io, '-D and -b cannot be used together');
  const expected = batch ? 3 : 2;
  if (positional.length !== expected) return fail(io, batch ? '-b needs FILE USER PASSWORD' : 'expected FILE USER');
  const [file, username, given] = positional as [string, string, string | undefined];
  if (username === '' || username.includes(':')) return fail(io, "the user name must not be empty or contain ':'");

  let text = '';
  if (!create) {
    try {
      text = await readFile(file, 'utf8');
      parsePasswordFile(text, file); // refuse to edit a file we could not read back
    } catch (err) {
      return fail(io, (err as Error).message);
    }
  }
  let hashed: string | undefined;
  if (!remove) {
    const password = given ?? (await askTwice(io));
    if (password === undefined) return 1;
    hashed = await hashPassword(password);
  }
  const edited = editPasswordText(text, username, hashed);
  if (edited === undefined) return fail(io, `user '${username}' is not in ${file}`);
  // Written next to the file, then renamed over it: never a half-written password file.
  const temporary = `${file}.tmp-${process.pid}`;
  await writeFile(temporary, edited, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
  return 0;
}

async function askTwice(io: PasswdIo): Promise<string | undefined> {
  const first = await io.readPassword('Password: ');
  const second = first === undefined ? undefined : await io.readPassword('Reenter password: ');
  if (first === undefined || second === undefined) {
    io.err('hato passwd: no password given\n');
    return undefined;
  }
  if (first !== second) {
    io.err('hato passwd: passwords do not match\n');
    return undefined;
  }
  if (first === '') {
    io.err('hato passwd: empty password\n');
    return undefined;
  }
  return first;
}

function fail(io: PasswdIo, message: string): number {
  io.err(`hato passwd: ${message}\n\n${usage}`);
  return 1;
}

/** Reads passwords from the process: a terminal in raw mode without echo, else lines of stdin. */
function processIo(): PasswdIo {
  const stdin = process.stdin;
  const lines: string[] = [];
  let ended = false;
  let buffer = '';
  let waiter: (() => void) | undefined;
  const pull = async (): Promise<string | undefined> => {
    while (lines.length === 0 && !ended) await new Promise<void>((resolve) => (waiter = resolve));
    return lines.shift();
  };
  let listening = false;
  const listen = (): void => {
    if (listening) return;
    listening = true;
    stdin.setEncoding('utf8');
    stdin.on('data', (chunk: string) => {
      for (const ch of chunk) {
        if (stdin.isTTY && ch === '\u0003') {
          stdin.setRawMode(false);
          process.exit(130); // Ctrl-C in raw mode
        }
        if (ch === '\r' && !stdin.isTTY) continue; // CRLF lines
        if (ch === '\r' || ch === '\n') {
          lines.push(buffer);
          buffer = '';
          if (stdin.isTTY) process.stderr.write('\n');
        } else if (stdin.isTTY && (ch === '\u007f' || ch === '\b')) buffer = buffer.slice(0, -1);
        else buffer += ch;
      }
      waiter?.();
    });
    stdin.on('end', () => {
      ended = true;
      if (buffer !== '') lines.push(buffer);
      waiter?.();
    });
  };
  return {
    async readPassword(prompt) {
      process.stderr.write(prompt);
      if (stdin.isTTY) stdin.setRawMode(true);
      listen();
      stdin.resume();
      try {
        return await pull();
      } finally {
        if (stdin.isTTY) stdin.setRawMode(false);
        stdin.pause();
      }
    },
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  };
}
