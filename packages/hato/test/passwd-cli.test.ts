// `hato passwd` as a process (the built CLI): the password is read twice from a pipe, as
// mosquitto_passwd reads it. Needs the build (`npm test` builds before vitest).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePasswordFile, verifyPassword } from '../src/security/password-file.js';

const cli = join(import.meta.dirname, '../dist/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'hato-passwd-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hato(args: string[], stdin: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stderr }));
    child.stdin.end(stdin);
  });
}

describe.skipIf(!existsSync(join(import.meta.dirname, '../dist/commands/passwd.js')))('hato passwd (CLI process)', () => {
  it('reads the password twice from stdin (CRLF too) and writes the user', async () => {
    const file = join(dir, 'pw');
    const created = await hato(['passwd', '-c', file, 'frank'], 'fr@nk pw\r\nfr@nk pw\r\n');
    expect(created.stderr).toBe('Password: Reenter password: ');
    expect(created.code).toBe(0);
    const frank = parsePasswordFile(readFileSync(file, 'utf8')).get('frank')!;
    expect(await verifyPassword(frank.hash, new TextEncoder().encode('fr@nk pw'))).toBe(true);
  });

  it('exits 1 and leaves the file alone when the two entries differ or input ends', async () => {
    const file = join(dir, 'pw');
    const before = readFileSync(file, 'utf8');
    const mismatch = await hato(['passwd', file, 'frank'], 'one\ntwo\n');
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain('passwords do not match');
    const ended = await hato(['passwd', file, 'frank'], 'only-one\n');
    expect(ended.code).toBe(1);
    expect(ended.stderr).toContain('no password given');
    expect(readFileSync(file, 'utf8')).toBe(before);
  });
});
