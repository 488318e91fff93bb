import { execFileSync } from 'node:child_process';

/**
 * Vitest global setup: tests write only under temporary directories. Lists the untracked,
 * not-ignored files of the work tree before the run and fails the run if any new one
 * appeared by its end (say, `sub31.txt` left at the repository root by a test).
 */
function untracked(): Set<string> | undefined {
  try {
    const out = execFileSync('git', ['ls-files', '--others', '--exclude-standard'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return new Set(out.split('\n').filter((line) => line !== ''));
  } catch {
    return undefined; // not a git checkout: nothing to compare
  }
}

export default function setup(): () => void {
  const before = untracked();
  return () => {
    const after = untracked();
    if (before === undefined || after === undefined) return;
    const added = [...after].filter((file) => !before.has(file));
    if (added.length > 0) throw new Error(`tests left files in the work tree (write under a temporary directory instead): ${added.join(', ')}`);
  };
}
