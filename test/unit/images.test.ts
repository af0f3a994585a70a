// The pure parts of cluster/images.ts and scripts/image.ts: version and mirror parsing, what the
// Dockerfile pins and copies, the builder command lines, and the synth configuration that
// points dist/ at the local images (synthesized here for real). Building and running the
// images is test/integration/images.test.ts.
import { describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  bundledNpmVersion,
  debianMirror,
  dockerfileArg,
  dockerfileSources,
  hashInputs,
  operatorBuildCommand,
  operatorImageInManifest,
  pickBuilder,
  pinnedNodeVersion,
  stackConfigFor,
  upstreamVersion,
  type BuiltImage,
  type ImageName,
} from '../../cluster/images';
import { parseStackConfig } from '../../constructs/config';
import { synthesize } from '../../main';

const ROOT = process.cwd();
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

describe('upstreamVersion (image tags from Debian package versions)', () => {
  it.each([
    ['1.6.18-1', '1.6.18'],
    ['5:7.0.15-1~deb12u6', '7.0.15'],
    ['2.6.12-1+deb12u3', '2.6.12'],
    ['1.2.3', '1.2.3'],
    ['2:4.5+dfsg-2', '4.5-dfsg'],
  ])('%s → %s', (deb, tag) => expect(upstreamVersion(deb)).toBe(tag));

  it('refuses what cannot be a tag', () => {
    expect(() => upstreamVersion('')).toThrow(/no image tag/);
  });
});

describe('debianMirror (the debootstrap mirror from apt sources)', () => {
  it('reads deb822 sources and skips the security archive', () => {
    const sources = [
      'Types: deb',
      'URIs: http://deb.debian.org/debian-security',
      'Suites: bookworm-security',
      '',
      'Types: deb',
      'URIs: http://mirror.example/debian/',
      'Suites: bookworm bookworm-updates',
    ].join('\n');
    expect(debianMirror(sources)).toBe('http://mirror.example/debian');
  });

  it('reads one-line sources, with options, and ignores other archives', () => {
    const sources = [
      'deb [arch=amd64] https://deb.nodesource.com/node_20.x nodistro main',
      '# deb http://commented.example/debian bookworm main',
      'deb [signed-by=/k.gpg] http://ftp.example/debian bookworm main',
    ].join('\n');
    expect(debianMirror(sources)).toBe('http://ftp.example/debian');
    expect(debianMirror('deb https://packages.cloud.google.com/apt cloud-sdk main')).toBeUndefined();
  });
});

describe('the Node.js base', () => {
  const nodeVersion = pinnedNodeVersion(read('package-lock.json'));

  it('uses the Node.js version package-lock.json pins, which is the Dockerfile default base', () => {
    expect(nodeVersion).toBe(JSON.parse(read('node_modules/node/package.json')).version);
    expect(nodeVersion).toMatch(/^24\./);
    expect(dockerfileArg(read('Dockerfile'), 'NODE_IMAGE')).toBe(`node:${nodeVersion}-bookworm-slim`);
  });

  it('takes npm at the version the Node.js release bundles (its CHANGELOG)', () => {
    const changelog = [
      '<a id="24.2.0"></a>',
      '## Version 24.2.0',
      '* **deps**: update undici',
      '<a id="24.1.0"></a>',
      '## Version 24.1.0',
      '* **deps**: upgrade npm to 11.5.0',
      '<a id="24.0.0"></a>',
      '* **deps**: upgrade npm to 11.4.0',
    ].join('\n');
    // 24.2.0 changed nothing in npm: it still bundles the npm of the release before it
    expect(bundledNpmVersion(changelog, '24.2.0')).toBe('11.5.0');
    expect(bundledNpmVersion(changelog, '24.0.0')).toBe('11.4.0');
    expect(() => bundledNpmVersion(changelog, '22.0.0')).toThrow(/no section/);
    // the real CHANGELOG of the pinned release (node_modules has the same package)
    const real = read(`node_modules/node/node_modules/node-linux-${process.arch}/CHANGELOG.md`);
    expect(bundledNpmVersion(real, nodeVersion)).toMatch(/^1\d\.\d+\.\d+$/);
  });
});

describe('the Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('takes its base from NODE_IMAGE in both stages, and nothing else test-specific', () => {
    const froms = dockerfile.split('\n').filter((l) => /^FROM\s/.test(l));
    expect(froms).toEqual(['FROM ${NODE_IMAGE} AS build', 'FROM ${NODE_IMAGE}']);
    expect(dockerfile).not.toMatch(/localhost\/|kts\//);
  });

  it('copies in exactly the inputs the image stamp hashes, none of them excluded by .dockerignore', () => {
    const sources = dockerfileSources(dockerfile);
    expect(sources).toEqual([
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'scripts/bundle.mjs',
      'constructs',
      'operator',
    ]);
    const ignored = read('.dockerignore').split('\n').filter(Boolean);
    for (const s of sources) expect(ignored).not.toContain(s.split('/')[0]);
    expect(dockerfileSources('COPY --from=build /src/a /src/b build/\nADD --chmod=644 x.tar /\n')).toEqual(['x.tar']);
  });
});

describe('npm run image', () => {
  it('tags by default with the operator image dist/ deploys, i.e. memcached.operator.image', () => {
    const ref = operatorImageInManifest(read('dist/memcached-operator.k8s.yaml'));
    expect(ref).toBe(parseStackConfig({}).memcached.operator.image);
    expect(() => operatorImageInManifest('kind: Service\n')).toThrow(/no Deployment/);
  });

  it('picks docker only when its daemon answers, then podman, then buildah', () => {
    expect(pickBuilder(() => true)).toBe('docker');
    expect(pickBuilder((b) => b !== 'docker')).toBe('podman');
    expect(pickBuilder((b) => b === 'buildah')).toBe('buildah');
    expect(pickBuilder(() => false)).toBeUndefined();
  });

  it('builds with each builder, passing the base as NODE_IMAGE and never pulling a local one', () => {
    const b = { tag: 'r.example/op:1.0.0', context: '/src' };
    expect(operatorBuildCommand({ ...b, builder: 'docker' })).toEqual([
      'docker',
      'build',
      '-f',
      '/src/Dockerfile',
      '-t',
      'r.example/op:1.0.0',
      '/src',
    ]);
    const podman = operatorBuildCommand({ ...b, builder: 'podman', base: 'localhost/kts/node:24.21.0' });
    expect(podman.slice(0, 4)).toEqual(['podman', '--runtime', 'runc', 'build']);
    expect(podman).toContain('--pull=never');
    expect(podman.join(' ')).toContain('--build-arg NODE_IMAGE=localhost/kts/node:24.21.0');
    const buildah = operatorBuildCommand({ ...b, builder: 'buildah', base: 'node:24.21.0-bookworm-slim' });
    expect(buildah.slice(0, 2)).toEqual(['buildah', 'bud']);
    expect(buildah).not.toContain('--pull=never');
    expect(buildah.at(-1)).toBe('/src');
  });
});

describe('stackConfigFor (the synth configuration for the local images)', () => {
  const image = (name: ImageName, ref: string): BuiltImage => ({
    name,
    ref,
    id: 'x',
    archive: `/tmp/${name}.oci.tar`,
    size: 1,
    stamp: 's',
    built: false,
    seconds: 0,
  });
  const images = {
    operator: image('operator', 'localhost/kts/memcached-operator:0.1.0'),
    memcached: image('memcached', 'localhost/kts/memcached:1.6.18'),
    redis: image('redis', 'localhost/kts/redis:7.0.15'),
    haproxy: image('haproxy', 'localhost/kts/haproxy:2.6.12'),
  };

  it('is valid configuration, and every synthesized pod runs a local image', () => {
    const config = parseStackConfig(stackConfigFor(images));
    const out = mkdtempSync(join(tmpdir(), 'images-synth-'));
    try {
      synthesize(config, out);
      const used = new Set<string>();
      let memcachedEnv: string | undefined;
      for (const file of readdirSync(out)) {
        for (const doc of parseAllDocuments(readFileSync(join(out, file), 'utf8'))) {
          const o = doc.toJS() as any;
          const spec = o?.spec?.template?.spec ?? (o?.kind === 'Pod' ? o.spec : undefined);
          for (const c of spec?.containers ?? []) {
            used.add(c.image);
            memcachedEnv ??= c.env?.find((e: any) => e.name === 'MEMCACHED_IMAGE')?.value;
          }
        }
      }
      expect([...used].sort()).toEqual([images.haproxy.ref, images.operator.ref, images.redis.ref].sort());
      // the operator creates memcached pods from MEMCACHED_IMAGE
      expect(memcachedEnv).toBe(images.memcached.ref);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('hashInputs (the stamp that decides whether an image is rebuilt)', () => {
  it('changes with a file under a folder, its name or its exec bit, and with the strings; not otherwise', () => {
    const dir = mkdtempSync(join(tmpdir(), 'images-hash-'));
    try {
      mkdirSync(join(dir, 'src', 'sub'), { recursive: true });
      writeFileSync(join(dir, 'src', 'a.ts'), 'a');
      writeFileSync(join(dir, 'src', 'sub', 'b.ts'), 'b');
      const stamp = () => hashInputs(dir, ['base-id', { path: 'src' }]);
      const first = stamp();
      expect(stamp()).toBe(first);
      writeFileSync(join(dir, 'src', 'sub', 'b.ts'), 'B');
      const changed = stamp();
      expect(changed).not.toBe(first);
      chmodSync(join(dir, 'src', 'a.ts'), 0o755);
      expect(stamp()).not.toBe(changed);
      expect(hashInputs(dir, ['other-base-id', { path: 'src' }])).not.toBe(stamp());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
