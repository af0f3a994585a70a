// main.ts as a program (the way `npm run synth` and `cdk8s synth` run it through
// scripts/run-ts.mjs), and the generated imports/ that `npm run import` derives from its output.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { outdatedFiles, synthTargets } from '../../main';
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
    const d = objectsOf(readFileSync(join(dir, 'out', 'redis-deployment.k8s.yaml'), 'utf8')).find(
      (o) => o.kind === 'Deployment',
    )!;
    expect(d.spec.replicas).toBe(4);
  });

  it('is the app cdk8s.yaml runs', () => {
    expect(readFileSync(join(ROOT, 'cdk8s.yaml'), 'utf8')).toMatch(/^app: node scripts\/run-ts\.mjs main\.ts$/m);
  });
});

describe('npm run synth: stack.yaml into dist/, envs/<env>/stack.yaml into envs/<env>/dist/', () => {
  // A project folder of its own, so the repository's dist/ and envs/ are never touched.
  const project = mkdtempSync(join(tmpdir(), 'targets-'));
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k !== 'STACK_CONFIG' && k !== 'CDK8S_OUTDIR'),
  );
  const synth = () =>
    spawnSync(process.execPath, runMain, { cwd: project, env: { ...env, NODE_OPTIONS: '' }, encoding: 'utf8' });
  const replicas = (dir: string) =>
    objectsOf(readFileSync(join(project, dir, 'redis-deployment.k8s.yaml'), 'utf8')).find(
      (o) => o.kind === 'Deployment',
    )!.spec.replicas;
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it('lists the targets: the default, then each environment that has a stack.yaml', () => {
    mkdirSync(join(project, 'envs', 'prod'), { recursive: true });
    mkdirSync(join(project, 'envs', 'notes'), { recursive: true });
    mkdirSync(join(project, 'envs', 'a-test'), { recursive: true });
    writeFileSync(join(project, 'stack.yaml'), 'redis:\n  deployment:\n    replicas: 2\n');
    writeFileSync(join(project, 'envs', 'prod', 'stack.yaml'), 'redis:\n  deployment:\n    replicas: 3\n');
    writeFileSync(join(project, 'envs', 'a-test', 'stack.yaml'), '{}\n');
    expect(synthTargets({}, project)).toEqual([
      { config: 'stack.yaml', optional: true, outdir: 'dist' },
      { config: 'envs/a-test/stack.yaml', optional: false, outdir: 'envs/a-test/dist' },
      { config: 'envs/prod/stack.yaml', optional: false, outdir: 'envs/prod/dist' },
    ]);
    expect(synthTargets({ STACK_CONFIG: 'envs/prod/stack.yaml' }, project)).toEqual([
      { config: 'envs/prod/stack.yaml', optional: false, outdir: 'dist' },
    ]);
    expect(synthTargets({ CDK8S_OUTDIR: '/tmp/x' }, project)).toEqual([
      { config: 'stack.yaml', optional: true, outdir: '/tmp/x' },
    ]);
  });

  it("writes every target, and the dist check then passes (the issue's stack.yaml repro)", () => {
    expect(outdatedFiles(project, {})).toEqual(
      expect.arrayContaining(['dist/redis-deployment.k8s.yaml', 'envs/prod/dist/redis-deployment.k8s.yaml']),
    );
    const r = synth();
    expect([r.status, r.stderr, r.stdout]).toEqual([0, '', '']);
    expect([replicas('dist'), replicas('envs/prod/dist'), replicas('envs/a-test/dist')]).toEqual([2, 3, 1]);
    expect(readdirSync(join(project, 'envs', 'notes'))).toEqual([]);
    expect(outdatedFiles(project, {})).toEqual([]);
  });

  it('the dist check names an output that no longer matches its configuration', () => {
    writeFileSync(join(project, 'stack.yaml'), 'redis:\n  deployment:\n    replicas: 5\n');
    expect(outdatedFiles(project, {})).toEqual(['dist/redis-deployment.k8s.yaml']);
    writeFileSync(join(project, 'stack.yaml'), 'redis:\n  deployment:\n    replicas: 2\n');
    writeFileSync(join(project, 'envs', 'prod', 'dist', 'stale.k8s.yaml'), 'kind: Stale\n');
    expect(outdatedFiles(project, {})).toEqual(['envs/prod/dist/stale.k8s.yaml']);
    rmSync(join(project, 'envs', 'prod', 'dist', 'stale.k8s.yaml'));
  });

  it('one invalid environment fails synth, names its file and field, and changes no output', () => {
    const before = tree(project);
    writeFileSync(join(project, 'envs', 'prod', 'stack.yaml'), 'redis:\n  deployment:\n    replicas: -3\n');
    writeFileSync(join(project, 'stack.yaml'), 'redis:\n  deployment:\n    replicas: 4\n');
    const r = synth();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'synth failed: invalid configuration in envs/prod/stack.yaml:\n  - redis.deployment.replicas: must be 0 or more',
    );
    const after = tree(project);
    for (const f of Object.keys(before).filter((f) => f.endsWith('.k8s.yaml')))
      expect([f, after[f]]).toEqual([f, before[f]]);
    expect(Object.keys(after).filter((f) => !f.includes('stack.yaml'))).toEqual(
      Object.keys(before).filter((f) => !f.includes('stack.yaml')),
    );
  });
});

describe('the cdk8s CLI (npx cdk8s synth)', () => {
  it('cdk8s.yaml holds only keys cdk8s-cli reads (it has no checkUpgrade)', () => {
    const decl = readFileSync(join(ROOT, 'node_modules/cdk8s-cli/lib/config.d.ts'), 'utf8').match(
      /export interface Config \{([^}]*)\}/,
    )![1];
    const known = [...decl.matchAll(/readonly (\w+)\?/g)].map((m) => m[1]);
    expect(known).toEqual(expect.arrayContaining(['app', 'language', 'output', 'imports']));
    const keys = Object.keys(parse(readFileSync(join(ROOT, 'cdk8s.yaml'), 'utf8')));
    expect(keys.filter((k) => !known.includes(k))).toEqual([]);
  });

  it("the README's CLI command synthesizes dist/'s files with no upgrade notice and no stack trace", () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('npx cdk8s synth --no-check-upgrade');
    const out = mkdtempSync(join(tmpdir(), 'cdk8s-cli-'));
    try {
      const env = Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !k.startsWith('CDK8S_') && k !== 'STACK_CONFIG'),
      );
      const r = spawnSync(join(ROOT, 'node_modules/.bin/cdk8s'), ['synth', '--no-check-upgrade', '--output', out], {
        cwd: ROOT,
        env: { ...env, NODE_OPTIONS: '' },
        encoding: 'utf8',
      });
      expect([r.status, r.stderr]).toEqual([0, '']);
      expect(r.stdout).not.toMatch(/new version|Error/);
      expect(readdirSync(out).sort()).toEqual(
        readdirSync(join(ROOT, 'dist'))
          .filter((f) => f.endsWith('.k8s.yaml'))
          .sort(),
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('imports/ (npm run import)', () => {
  it("is exactly what importing cdk8s.yaml's list generates now, offline", () => {
    // The same command as `npm run import`, with only the output directory changed. cdk8s.yaml
    // names the committed dist/ CRD only, so nothing is fetched.
    const out = mkdtempSync(join(tmpdir(), 'import-'));
    try {
      execFileSync(
        join(ROOT, 'node_modules/.bin/cdk8s'),
        ['import', '--no-check-upgrade', '--output', out, '--language', 'typescript'],
        { cwd: ROOT, stdio: 'pipe' },
      );
      const generated = tree(out);
      expect(Object.keys(generated)).toEqual(['cache.example.com.ts']);
      expect(generated).toEqual(tree(join(ROOT, 'imports')));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("the import script uses cdk8s.yaml's list", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.import).toBe('cdk8s import --no-check-upgrade --output imports --language typescript');
    const list = readFileSync(join(ROOT, 'cdk8s.yaml'), 'utf8')
      .split('imports:')[1]
      .match(/^\s+- (.+)$/gm)!
      .map((l) => l.trim().slice(2));
    expect(list).toEqual(['dist/memcached-operator.k8s.yaml']);
  });
});
