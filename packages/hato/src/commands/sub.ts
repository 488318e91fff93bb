// Placeholder until the 'sub' command lands; replaced by its own issue's work.
export async function run(_argv: string[]): Promise<number> {
  process.stderr.write('hato sub: not implemented yet\n');
  return 1;
}
