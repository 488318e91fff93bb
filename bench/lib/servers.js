// Starts a Node broker script of bench/servers/ in its own process: it reports its port
// over IPC; → { port, pid, stop }.
import { fork } from 'node:child_process';

export async function startNodeServer(script, { execArgv = [], env } = {}) {
  const child = fork(script, [], { execArgv, env: env ?? process.env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const { port } = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`${script} exited ${code} before listening`)));
  });
  const stop = async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  return { port, pid: child.pid, stop };
}
