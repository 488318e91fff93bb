import type { File, Reporter, Task } from 'vitest';

/**
 * Prints one closing line `tests: N passed, N failed, N skipped` after vitest's own
 * summary, so CI logs state plainly how many tests ran.
 */
export default class SummaryReporter implements Reporter {
  onFinished(files: File[] = []): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const visit = (task: Task): void => {
      if (task.type === 'suite') {
        for (const child of task.tasks) visit(child);
        if (task.result?.state === 'fail' && task.tasks.length === 0) failed++;
        return;
      }
      const state = task.result?.state;
      if (state === 'pass') passed++;
      else if (state === 'fail') failed++;
      else skipped++;
    };
    for (const file of files) {
      visit(file);
      if (file.result?.state === 'fail' && file.tasks.length === 0) failed++;
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
