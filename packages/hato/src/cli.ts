#!/usr/bin/env node
/**
 * `hato` command line: `hato broker | passwd | pub | sub`. Each command lives in
 * ./commands/<name>.ts and exports `run(argv): Promise<number>` (the exit code);
 * commands are loaded lazily so `hato pub` never loads the broker.
 */

const commands: Record<string, () => Promise<{ run(argv: string[]): Promise<number> }>> = {
  broker: () => import('./commands/broker.js'),
  passwd: () => import('./commands/passwd.js'),
  pub: () => import('./commands/pub.js'),
  sub: () => import('./commands/sub.js'),
};

const usage = `usage: hato <command> [options]

commands:
  broker   run an MQTT broker (hato broker --help)
  passwd   manage a password file, like mosquitto_passwd (hato passwd --help)
  pub      publish messages, like mosquitto_pub (hato pub --help)
  sub      subscribe and print messages, like mosquitto_sub (hato sub --help)
`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help') {
    process.stdout.write(usage);
    return name === undefined ? 1 : 0;
  }
  const load = commands[name];
  if (load === undefined) {
    process.stderr.write(`hato: unknown command '${name}'\n\n${usage}`);
    return 1;
  }
  const command = await load();
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`hato: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
