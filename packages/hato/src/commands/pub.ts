// Placeholder until the 'pub' command lands; replaced by its own issue's work.
export async function run(_argv: string[]): Promise<number> {
  process.stderr.write('hato pub: not implemented yet\n');
  return 1;
}
