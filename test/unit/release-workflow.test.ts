// The release workflow (.github/workflows/release.yml) cannot run here: no GitHub runner, no
// registry. What can be checked here is checked: actionlint (built from Go modules by
// scripts/actionlint-build.sh) with shellcheck on every `run:` block finds nothing; the
// workflow does what docs/release.md promises (tags only, both platforms, provenance and SBOM,
// least privilege, pinned actions); and the version job's own shell steps, run here as the
// runner would run them, pass for the tag of package.json's version and the image dist/
// deploys, and fail for any other tag, version or registry owner.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { OPERATOR_IMAGE_REPOSITORY, RELEASE_TAG, RELEASE_VERSION } from '../../constructs/release';

type Obj = Record<string, any>;
const ROOT = process.cwd();
const WORKFLOWS = join(ROOT, '.github/workflows');
const FILE = join(WORKFLOWS, 'release.yml');
const ACTIONLINT = join(ROOT, '.cache/actionlint-bin/actionlint');
const text = readFileSync(FILE, 'utf8');
const workflow: Obj = parse(text);
const jobs: Obj = workflow.jobs;
const step = (job: string, uses: string): Obj => {
  const found = (jobs[job].steps as Obj[]).filter((s) => typeof s.uses === 'string' && s.uses.startsWith(`${uses}@`));
  if (found.length !== 1) throw new Error(`job ${job} has ${found.length} steps using ${uses}`);
  return found[0];
};
const stepById = (job: string, id: string): Obj => {
  const found = (jobs[job].steps as Obj[]).find((s) => s.id === id);
  if (!found) throw new Error(`job ${job} has no step with id ${id}`);
  return found;
};

function shellcheckPath(): string {
  const r = spawnSync('sh', ['-c', 'command -v shellcheck'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (r.status !== 0 || !path) {
    throw new Error(
      'shellcheck is not on PATH: actionlint would skip every run: block. Install it: bash scripts/install-redis.sh (apt-get install shellcheck)',
    );
  }
  return path;
}

interface Finding {
  message: string;
  filepath: string;
  line: number;
  kind: string;
}

function actionlint(files: string[]): Finding[] {
  if (!existsSync(ACTIONLINT)) {
    throw new Error(`actionlint is not built (${ACTIONLINT} is missing): run bash scripts/actionlint-build.sh`);
  }
  const r = spawnSync(ACTIONLINT, ['-no-color', '-shellcheck', shellcheckPath(), '-format', '{{json .}}', ...files], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.error) throw r.error;
  // 0: no finding, 1: findings; anything else is actionlint failing to run.
  if (r.status !== 0 && r.status !== 1) throw new Error(`actionlint failed (exit ${r.status}): ${r.stderr}`);
  const findings = JSON.parse(r.stdout || '[]') as Finding[];
  expect(findings.length > 0).toBe(r.status === 1);
  return findings.map(({ message, filepath, line, kind }) => ({ message, filepath, line, kind }));
}

/** Runs a step's `run:` script as the runner does (bash -e -o pipefail) and reads what it wrote. */
function runStep(script: string, env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'release-step-'));
  try {
    const file = join(dir, 'step.sh');
    const output = join(dir, 'output');
    const summary = join(dir, 'summary');
    writeFileSync(file, script);
    writeFileSync(output, '');
    writeFileSync(summary, '');
    const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? dir,
        GITHUB_OUTPUT: output,
        GITHUB_STEP_SUMMARY: summary,
        ...env,
      },
    });
    const outputs = Object.fromEntries(
      readFileSync(output, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    return { status: r.status, log: `${r.stdout}${r.stderr}`, outputs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('actionlint', () => {
  it('finds nothing in .github/workflows (shellcheck included)', () => {
    const files = readdirSync(WORKFLOWS)
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => join('.github/workflows', f));
    expect(files).toContain('.github/workflows/release.yml');
    expect(actionlint(files)).toEqual([]);
  });

  it('runs shellcheck on run: blocks (a planted unquoted variable is reported)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'actionlint-'));
    try {
      const planted = join(dir, 'planted.yml');
      writeFileSync(
        planted,
        [
          'on: push',
          'jobs:',
          '  a:',
          '    runs-on: ubuntu-24.04',
          '    steps:',
          '      - run: ls $HOME/*.txt',
          '',
        ].join('\n'),
      );
      const findings = actionlint([planted]);
      expect(findings.map((f) => f.kind)).toContain('shellcheck');
      expect(findings.find((f) => f.kind === 'shellcheck')!.message).toMatch(/SC2086/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the release workflow', () => {
  it('runs on version tags only', () => {
    expect(workflow.on).toEqual({ push: { tags: ['v*.*.*'] } });
    expect(RELEASE_TAG).toMatch(/^v\d+\.\d+\.\d+/);
  });

  it('has least privilege: nothing by default, write access only where the image is pushed', () => {
    expect(workflow.permissions).toEqual({});
    expect(jobs.version.permissions).toEqual({ contents: 'read' });
    expect(jobs.image.permissions).toEqual({
      contents: 'read',
      packages: 'write',
      'id-token': 'write',
      attestations: 'write',
    });
    expect(Object.keys(jobs).sort()).toEqual(['image', 'version']);
    // Nothing leaves the workflow's token in the checked-out repository.
    for (const job of Object.keys(jobs)) {
      expect(step(job, 'actions/checkout').with).toMatchObject({ 'persist-credentials': false });
    }
  });

  it('pins every action to a full commit SHA and names its release in a comment', () => {
    const uses = text.split('\n').filter((l) => /^\s*(-\s+)?uses:/.test(l));
    expect(uses.length).toBeGreaterThanOrEqual(8);
    for (const line of uses) {
      expect(line).toMatch(/uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    }
  });

  it('builds the Dockerfile for linux/amd64 and linux/arm64 with QEMU and Buildx, and pushes', () => {
    const steps: Obj[] = jobs.image.steps;
    const at = (uses: string) => steps.indexOf(step('image', uses));
    const build = step('image', 'docker/build-push-action');
    expect(build.with.platforms.split(',').map((p: string) => p.trim())).toEqual(['linux/amd64', 'linux/arm64']);
    expect(build.with.push).toBe(true);
    expect(build.with.context).toBe('.');
    expect(build.with.file).toBe('Dockerfile');
    expect(existsSync(join(ROOT, build.with.file))).toBe(true);
    expect(step('image', 'docker/setup-qemu-action').with.platforms).toBe('arm64');
    expect(at('docker/setup-qemu-action')).toBeLessThan(at('docker/build-push-action'));
    expect(at('docker/setup-buildx-action')).toBeLessThan(at('docker/build-push-action'));
    expect(at('docker/login-action')).toBeLessThan(at('docker/build-push-action'));
    expect(step('image', 'docker/login-action').with.registry).toBe('ghcr.io');
  });

  it('attaches SLSA provenance (mode=max) and an SBOM, and attests the pushed digest', () => {
    const build = step('image', 'docker/build-push-action');
    expect(build.with.provenance).toBe('mode=max');
    expect(build.with.sbom).toBe(true);
    const attest = step('image', 'actions/attest-build-provenance');
    expect(attest.with['subject-digest']).toBe(`\${{ steps.${build.id}.outputs.digest }}`);
    expect(attest.with['push-to-registry']).toBe(true);
    // The last step reads both back from the registry for each platform.
    const verify: string = jobs.image.steps.at(-1).run;
    expect(verify).toContain('for platform in linux/amd64 linux/arm64');
    expect(verify).toContain('.SBOM');
    expect(verify).toContain('.Provenance');
  });

  it('pushes to the repository dist/ deploys, tagged with the version, and never latest', () => {
    const repository = '${{ needs.version.outputs.repository }}';
    expect(jobs.image.needs).toBe('version');
    expect(jobs.version.outputs.repository).toBe(`\${{ steps.image.outputs.repository }}`);
    const meta = step('image', 'docker/metadata-action');
    expect(meta.with.images).toBe(repository);
    expect(meta.with.tags.trim().split('\n')).toEqual([
      'type=semver,pattern={{version}}',
      'type=semver,pattern={{major}}.{{minor}}',
    ]);
    expect(meta.with.flavor.trim()).toBe('latest=false');
    const build = step('image', 'docker/build-push-action');
    expect(build.with.tags).toBe(`\${{ steps.${meta.id}.outputs.tags }}`);
    expect(step('image', 'actions/attest-build-provenance').with['subject-name']).toBe(repository);
    // Nothing in the workflow spells the repository out: it comes from dist/ (constructs/release.ts).
    expect(text).not.toContain(OPERATOR_IMAGE_REPOSITORY);
  });

  it('checks the tag before installing anything, and the committed manifests before building', () => {
    const steps: Obj[] = jobs.version.steps;
    const install = steps.findIndex((s) => typeof s.run === 'string' && s.run.startsWith('npm ci'));
    expect(steps.indexOf(stepById('version', 'tag'))).toBeLessThan(install);
    const synth = steps.find((s) => typeof s.run === 'string' && s.run.includes('npm run synth'))!;
    expect(synth.run).toContain('npm run bundle');
    expect(synth.run).toContain('git diff --exit-code -- dist envs bundle');
    expect(steps.indexOf(synth)).toBeLessThan(steps.indexOf(stepById('version', 'image')));
  });
});

describe("the version job's checks, run here", () => {
  const tagStep: string = stepById('version', 'tag').run;
  const imageStep: string = stepById('version', 'image').run;
  const owner = OPERATOR_IMAGE_REPOSITORY.split('/')[1];

  it(`accepts ${RELEASE_TAG}, the tag of package.json's version`, () => {
    const r = runStep(tagStep, { GITHUB_REF_NAME: RELEASE_TAG });
    expect(r).toMatchObject({ status: 0, outputs: { version: RELEASE_VERSION } });
  });

  it.each(['v0.0.0-other', `v${RELEASE_VERSION}.1`, RELEASE_VERSION, `${RELEASE_TAG}-rc.1`])(
    'fails for the tag %s',
    (tag) => {
      const r = runStep(tagStep, { GITHUB_REF_NAME: tag });
      expect(r.status).toBe(1);
      expect(r.log).toContain(`::error::tag ${tag} does not match package.json's version ${RELEASE_VERSION}`);
    },
  );

  it('reads the image from dist/ and hands its repository and version to the image job', () => {
    const r = runStep(imageStep, { VERSION: RELEASE_VERSION, GITHUB_REPOSITORY_OWNER: owner });
    expect(r.log).toBe('');
    expect(r).toMatchObject({
      status: 0,
      outputs: { repository: OPERATOR_IMAGE_REPOSITORY, version: RELEASE_VERSION },
    });
  });

  it('fails when dist/ deploys another version than the tag', () => {
    const r = runStep(imageStep, { VERSION: '9.9.9', GITHUB_REPOSITORY_OWNER: owner });
    expect(r.status).toBe(1);
    expect(r.log).toContain(`deploys ${OPERATOR_IMAGE_REPOSITORY}:${RELEASE_VERSION}, not a tag 9.9.9`);
  });

  it("fails when dist/'s repository is not the repository owner's on ghcr.io (a fork)", () => {
    const r = runStep(imageStep, { VERSION: RELEASE_VERSION, GITHUB_REPOSITORY_OWNER: 'Someone-Else' });
    expect(r.status).toBe(1);
    expect(r.log).toContain('pushes to ghcr.io/someone-else/');
  });
});
