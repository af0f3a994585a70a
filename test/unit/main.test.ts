// main.ts as a program (the way `npm run synth` and `cdk8s synth` run it through
// scripts/run-ts.mjs), and the generated imports/ that `npm run import` derives from its output.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { objectsOf } from './constructs/helpers';

const ROOT = process.cwd();
const runMain = [join(ROOT, 'scripts/run-ts.mjs'), join(ROOT, 'main.ts')];

/** Every file under `dir`, relative path → content. */
function tree(dir: string): Record<string, string> {
  return Object.fromEntries(
    (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .sort()
      .map((f) => [f.slice(dir.length + 1), readFileSync(f, 'utf8')]),
  );
}

describe('main.ts (npm run synth)', () => {
  it('fails on invalid configuration with the field in the message and writes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'badsynth-'));
    const out = join(dir, 'out');
    const config = join(dir, 'stack.yaml');
    writeFileSync(config, 'redis:\n  deployment:\n    replicas: -3\n');
    const r = spawnSync(process.execPath, runMain, {
      cwd: ROOT,
      env: { ...process.env, STACK_CONFIG: config, CDK8S_OUTDIR: out, NODE_OPTIONS: '' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('synth failed: invalid configuration:');
    expect(r.stderr).toContain('redis.deployment.replicas: must be 0 or more');
    expect(readdirSync(dir)).toEqual(['stack.yaml']);
  });

  it('leaves the previous output untouched when the configuration is invalid', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keepsynth-'));
    const out = join(dir, 'out');
    const good = join(dir, 'good.yaml');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(good, 'redis:\n  deployment:\n    replicas: 4\n');
    writeFileSync(bad, 'redis:\n  image: redis:latest\n');
    const env = { ...process.env, CDK8S_OUTDIR: out, NODE_OPTIONS: '' };
    execFileSync(process.execPath, runMain, { cwd: ROOT, env: { ...env, STACK_CONFIG: good } });
    const before = tree(out);
    expect(Object.keys(before)).toContain('redis-deployment.k8s.yaml');
    const r = spawnSync(process.execPath, runMain, { cwd: ROOT, env: { ...env, STACK_CONFIG: bad }, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("redis.image: must not use the tag 'latest'");
    expect(tree(out)).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['bad.yaml', 'good.yaml', 'out']);
  });

  it('synthesizes a good configuration file into CDK8S_OUTDIR', () => {
    const dir = mkdtempSync(join(tmpdir(), 'goodsynth-'));
    const config = join(dir, 'stack.yaml');
    writeFileSync(config, 'redis:\n  deployment:\n    replicas: 4\n');
    execFileSync(process.execPath, runMain, {
      cwd: ROOT,
      env: { ...process.env, STACK_CONFIG: config, CDK8S_OUTDIR: join(dir, 'out'), NODE_OPTIONS: '' },
    });
    const d = objectsOf(readFileSync(join(dir, 'out', 'redis-deployment.k8s.yaml'), 'utf8')).find((o) => o.kind === 'Deployment')!;
    expect(d.spec.replicas).toBe(4);
  });

  it('is the app cdk8s.yaml runs', () => {
    expect(readFileSync(join(ROOT, 'cdk8s.yaml'), 'utf8')).toMatch(/^app: node scripts\/run-ts\.mjs main\.ts$/m);
  });
});

describe('imports/ (npm run import)', () => {
  it('is exactly what importing cdk8s.yaml\'s list generates now, offline', () => {
    // The same command as `npm run import`, with only the output directory changed. cdk8s.yaml
    // names the committed dist/ CRD only, so nothing is fetched.
    const out = mkdtempSync(join(tmpdir(), 'import-'));
    try {
      execFileSync(join(ROOT, 'node_modules/.bin/cdk8s'), ['import', '--no-check-upgrade', '--output', out, '--language', 'typescript'], { cwd: ROOT, stdio: 'pipe' });
      const generated = tree(out);
      expect(Object.keys(generated)).toEqual(['cache.example.com.ts']);
      expect(generated).toEqual(tree(join(ROOT, 'imports')));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('the import script uses cdk8s.yaml\'s list', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.import).toBe('cdk8s import --no-check-upgrade --output imports --language typescript');
    const list = readFileSync(join(ROOT, 'cdk8s.yaml'), 'utf8').split('imports:')[1].match(/^\s+- (.+)$/gm)!.map((l) => l.trim().slice(2));
    expect(list).toEqual(['dist/memcached-operator.k8s.yaml']);
  });
});
