// Preloaded (node --expose-gc --import) into the Node servers of bench/connections.js: on the
// IPC message { cmd: 'mem' } it collects garbage and replies { mem: process.memoryUsage() }.
process.on('message', (msg) => {
  if (msg?.cmd !== 'mem') return;
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  process.send({ mem: process.memoryUsage() });
});
