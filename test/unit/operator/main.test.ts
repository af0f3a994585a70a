// The operator program as the image runs it: the bundle alone in a directory (no package.json,
// no node_modules), started without npm (so no npm_package_* variables). --help, --version and
// the start log line must still know the version, which the bundle carries from package.json.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = process.cwd();
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
let dir: string;
let bundle: string;

/** Only what a container would have: no npm variables, no package.json next to the bundle. */
const env = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? '', HOME: dir, ...extra });
const run = (...args: string[]) =>
  spawnSync(process.execPath, [bundle, ...args], { cwd: dir, env: env(), encoding: 'utf8' });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'operator-main-'));
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'scripts/bundle.mjs'), 'operator/main.ts', join(dir, 'build-out/operator.mjs')],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`bundling failed:\n${r.stderr}`);
  bundle = join(dir, 'operator.mjs');
  copyFileSync(join(dir, 'build-out/operator.mjs'), bundle);
  rmSync(join(dir, 'build-out'), { recursive: true });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('operator command line (the bundle, outside npm)', () => {
  it('is ASCII only: Node holds a source over about 1 MB with any other character as UTF-16', () => {
    const bytes = readFileSync(bundle);
    const first = bytes.findIndex((b) => b > 0x7f);
    expect(first === -1 ? '' : bytes.subarray(Math.max(0, first - 40), first + 10).toString()).toBe('');
  });

  it('has no ES module import of node:http (its namespace would load undici; see node-http.ts)', () => {
    expect(readFileSync(bundle, 'utf8')).not.toMatch(/^import [^;]* from "node:http";/m);
  });

  it.each([['--help'], ['-h']])('%s prints usage with every flag and environment variable, exit 0', (flag) => {
    const r = run(flag);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toContain(`memcached-operator ${version}`);
    expect(r.stdout).toMatch(/^Usage: memcached-operator \[flags\]$/m);
    for (const f of [
      'leader-elect',
      'leader-election-id',
      'leader-election-namespace',
      'health-probe-bind-address',
      'metrics-bind-address',
      'zap-log-level',
      'max-concurrent-reconciles',
      'sync-period',
      'help',
      'version',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^  --${f}\\b`, 'm'));
    }
    for (const v of ['WATCH_NAMESPACE', 'POD_NAMESPACE', 'MEMCACHED_IMAGE', 'MEMCACHED_GROUP_DOMAIN', 'KUBECONFIG'])
      expect(r.stdout).toMatch(new RegExp(`^  ${v} `, 'm'));
    expect(r.stdout).toMatch(/--leader-election-id <name> .*\(default memcached-operator\.cache\.example\.com\)/);
  });

  it("--version prints package.json's version, exit 0", () => {
    const r = run('--version');
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
      status: 0,
      stdout: `memcached-operator ${version}\n`,
      stderr: '',
    });
  });

  it('a bad flag is still refused with exit 2, and points at --help', () => {
    const r = run('--bogus');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^memcached-operator: Unknown option '--bogus'/);
    expect(r.stderr).toContain("Run 'memcached-operator --help'");
    const bad = run('--max-concurrent-reconciles=0');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/invalid value "0" for --max-concurrent-reconciles/);
  });

  it('the start log line carries the version', async () => {
    // An API server that is not there: the manager logs "starting" before it lists anything.
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'c',
        clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      }),
    );
    const child = spawn(process.execPath, [bundle, '--health-probe-bind-address=0', '--metrics-bind-address=0'], {
      cwd: dir,
      env: env({ KUBECONFIG: kubeconfig }),
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const found = out.split('\n').find((l) => l.includes('"msg":"starting"'));
          if (found) resolve(found);
        });
        child.on('exit', (code) => reject(new Error(`operator exited (${code}) before logging "starting":\n${out}`)));
      });
      expect(JSON.parse(line)).toMatchObject({ level: 'info', logger: 'memcached-operator', msg: 'starting', version });
    } finally {
      child.kill('SIGKILL');
    }
  });
});
