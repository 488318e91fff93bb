/**
 * `hato broker --persistence redis://HOST:PORT[/DB]` as a real process against a real
 * redis-server (the kill -9 cases on Redis are in persistence-crash.test.ts).
 */
import { freePort, useRedisServer } from '@hato/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bundleCli, type CliBundle, startBrokerProcess } from './support/cli-process.js';

const redis = useRedisServer();
let bundle: CliBundle;
beforeAll(async () => {
  bundle = await bundleCli();
}, 60_000);
afterAll(() => bundle?.dispose());

const WARNING = 'Redis runs without its append-only file (appendonly no)';

it('starts on Redis: the listening line says where the data is; no warning while Redis keeps its append-only file', async () => {
  const url = `${redis().url}/3`;
  const broker = await startBrokerProcess(bundle, ['--persistence', url]);
  try {
    expect(broker.listening).toMatchObject({ persistence: 'redis', data: url, prefix: 'hato:' });
    expect(broker.output()).not.toContain(WARNING);
  } finally {
    await broker.kill9();
  }
  const admin = new Redis(redis().url);
  try {
    expect(await admin.select(3).then(() => admin.hget('hato:meta', 'layout'))).toBe('1');
  } finally {
    await admin.quit();
  }
}, 60_000);

it('warns at start when Redis runs without its append-only file', async () => {
  const admin = new Redis(redis().url);
  await admin.config('SET', 'appendonly', 'no');
  try {
    const broker = await startBrokerProcess(bundle, ['--persistence', `${redis().url}/4`]);
    await broker.kill9();
    const warning = broker
      .output()
      .split('\n')
      .find((line) => line.includes(WARNING));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning!)).toMatchObject({ level: 40, persistence: 'redis' });
  } finally {
    await admin.config('SET', 'appendonly', 'yes');
    await admin.quit();
  }
}, 60_000);

it('refuses to start when Redis cannot be reached, naming the URL without its password', async () => {
  const port = await freePort();
  const error = await startBrokerProcess(bundle, ['--persistence', `redis://:s3cret@127.0.0.1:${port}/0`]).catch((err: unknown) => err as Error);
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).message).toContain('exited (1) before listening');
  expect((error as Error).message).toContain(`Redis store redis://:***@127.0.0.1:${port}/0: cannot connect`);
  expect((error as Error).message).not.toContain('s3cret');
}, 60_000);
