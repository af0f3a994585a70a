// `npm run image`: builds the operator image from the project's Dockerfile with whatever the
// machine has: docker (when its daemon answers), else podman, else buildah.
//
//   npm run image [-- [--tag REF] [--base NODE_IMAGE] [--builder docker|podman|buildah] [--push]]
//   npm run image -- --all [--force] [--stack-config FILE]
//
// --tag     the image reference (default: the operator image of the synthesized Deployment in
//           dist/memcached-operator.k8s.yaml, i.e. memcached.operator.image in stack.yaml, so
//           the tag you build is the one you deploy)
// --base    the Dockerfile's NODE_IMAGE (default: the Dockerfile's own, the upstream image)
// --push    push the image after building it (log in to the registry first)
// --all     build the whole local set of cluster/images.ts instead (Debian base, Node base,
//           operator, memcached, Redis, HAProxy; buildah and podman needed), print it, and
//           with --stack-config write the synth configuration that points dist/ at it;
//           --force rebuilds every image even when its stamp says it is up to date.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../cluster/binaries';
import {
  buildImages,
  builderWorks,
  hostNpmVolumes,
  operatorBuildCommand,
  operatorImageInManifest,
  pickBuilder,
  pushCommand,
  writeStackConfig,
  type Builder,
} from '../cluster/images';

const USAGE =
  'usage: npm run image -- [--tag REF] [--base NODE_IMAGE] [--builder docker|podman|buildah] [--push]\n' +
  '       npm run image -- --all [--force] [--stack-config FILE]';

function fail(message: string): never {
  console.error(`image: ${message}`);
  process.exit(1);
}

function run(argv: string[]): void {
  console.error(`image: ${argv.join(' ')}`);
  const r = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit' });
  if (r.error) throw new Error(`${argv[0]}: ${r.error.message}`);
  const what = [argv[0], argv.find((a) => ['build', 'bud', 'push'].includes(a))].filter(Boolean).join(' ');
  if (r.status !== 0) throw new Error(`${what} failed (${r.signal ?? `exit code ${r.status}`})`);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        tag: { type: 'string' },
        base: { type: 'string' },
        builder: { type: 'string' },
        push: { type: 'boolean', default: false },
        all: { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
        'stack-config': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
    }));
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const root = repoRoot();

  if (values.all) {
    const images = await buildImages({ force: values.force });
    for (const img of Object.values(images)) {
      console.log(
        `${img.name.padEnd(10)} ${img.ref.padEnd(45)} ${(img.size / 1e6).toFixed(1).padStart(7)} MB  ${img.archive}`,
      );
    }
    if (values['stack-config']) console.log(`stack config: ${writeStackConfig(images, values['stack-config'])}`);
    return;
  }

  let builder: Builder | undefined;
  if (values.builder) {
    if (!['docker', 'podman', 'buildah'].includes(values.builder)) fail(`--builder: '${values.builder}'\n${USAGE}`);
    builder = values.builder as Builder;
    if (!builderWorks(builder)) {
      fail(builder === 'docker' ? '`docker info` fails: no Docker daemon answers' : `${builder} is not installed`);
    }
  } else {
    builder = pickBuilder(builderWorks);
    if (!builder) {
      fail(
        'no image builder on this machine: install Docker (with a running daemon), podman or buildah\n' +
          '  (Debian/Ubuntu: apt-get install podman runc, or buildah runc)',
      );
    }
  }

  let tag = values.tag;
  if (!tag) {
    const manifest = join(root, 'dist', 'memcached-operator.k8s.yaml');
    try {
      tag = operatorImageInManifest(readFileSync(manifest, 'utf8'));
    } catch (err) {
      fail(`no --tag, and no operator image in ${manifest} (${(err as Error).message}); run npm run synth first`);
    }
  }

  const started = Date.now();
  const npmrcDir = mkdtempSync(join(tmpdir(), 'image-npmrc-'));
  try {
    const volumes = builder === 'docker' ? [] : hostNpmVolumes(npmrcDir);
    run(operatorBuildCommand({ builder, tag, base: values.base, context: root, volumes }));
  } catch (err) {
    const hint = values.base
      ? ''
      : "\n  The Dockerfile's default base is pulled from Docker Hub. Without a registry, build a local" +
        '\n  base with `npm run image -- --all` and pass it: --base localhost/kts/node:<version>.';
    throw new Error(`${(err as Error).message}${hint}`, { cause: err });
  } finally {
    rmSync(npmrcDir, { recursive: true, force: true });
  }
  console.error(`image: built ${tag} with ${builder} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (values.push) run(pushCommand(builder, tag));
}

main().catch((err: Error) => fail(err.message));
