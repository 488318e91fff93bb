#!/usr/bin/env node
// The `hato` command: a committed shim so npm can link it before the TypeScript build;
// the CLI itself is compiled to dist/ by `npm run build`.
import('../dist/cli.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND') {
    process.stderr.write('hato: not built yet; run `npm run build` first\n');
    process.exit(1);
  }
  throw err;
});
