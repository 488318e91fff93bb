// Placeholder until the 'broker' command lands; replaced by its own issue's work.
export async function run(_argv: string[]): Promise<number> {
  process.stderr.write('hato broker: not implemented yet\n');
  return 1;
}
