// The container images a real node runs, built on this machine (nothing can be pulled here):
//   debian     Debian 12 from `debootstrap --variant=minbase bookworm` (images/debian/)
//   node       Node.js 24 from the npm registry's node-linux-<arch> package plus npm (images/node/)
//   operator   the project's Dockerfile, its NODE_IMAGE build argument set to `node`
//   memcached, redis, haproxy   Debian's packages, shaped like the official images the
//              manifests were written for (users, paths, commands; images/<name>/)
// Each is built with buildah into the machine's container storage (podman reads the same),
// tagged with a LOCAL name (localhost/kts/...), never an upstream one, and saved as an OCI
// archive under .cache/images/ for loading into a node's containerd. A build is skipped while
// its inputs are unchanged: the inputs' hash is the image's `kts.stamp` label, so an image left
// in storage by an earlier run (another clone, CI) is found again and only saved anew.
// stackConfigFor() is the synth configuration that points dist/ at these images.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { arch as hostArch } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { repoRoot } from './binaries';

export type DebianImageName = 'memcached' | 'redis' | 'haproxy';
export type ImageName = 'debian' | 'node' | 'operator' | DebianImageName;

export interface BuiltImage {
  readonly name: ImageName;
  /** The local image reference, e.g. `localhost/kts/memcached:1.6.18`. */
  readonly ref: string;
  /** The image ID in the machine's container storage. */
  readonly id: string;
  /** `podman save --format oci-archive` of `ref`: what a node's containerd imports. */
  readonly archive: string;
  /** Size of the image (all layers, uncompressed), bytes, as podman reports it. */
  readonly size: number;
  /** Hash of everything the image was built from (its `kts.stamp` label). */
  readonly stamp: string;
  /** True when this call built it; false when it was up to date. */
  readonly built: boolean;
  /** Seconds this call spent on the image (build and save, or just the check). */
  readonly seconds: number;
}

export type ImageSet = { readonly [K in ImageName]: BuiltImage };

export interface BuildImagesOptions {
  /** Where archives, stamps, build contexts and logs go. Default: $IMAGES_CACHE_DIR or .cache/images. */
  cacheDir?: string;
  /** Repository prefix of the local names. Default: localhost/kts. */
  prefix?: string;
  /** Rebuild even when the stamp matches. */
  force?: boolean;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

/** The Debian suite every image is built on. */
export const DEBIAN_SUITE = 'bookworm';
/** Limits for build and run containers: at or below this machine's hard limits (no CAP_SYS_RESOURCE). */
export const CONTAINER_ULIMITS = ['--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096'];
/** crun fails on this kernel's hybrid cgroups; runc works. */
export const OCI_RUNTIME = 'runc';
const STAMP_LABEL = 'kts.stamp';
const DEBIAN_PACKAGES: Record<DebianImageName, string> = {
  memcached: 'memcached',
  redis: 'redis-server',
  haproxy: 'haproxy',
};

// ---------------------------------------------------------------------------------------
// Pure parts (unit tested)
// ---------------------------------------------------------------------------------------

/** Upstream part of a Debian version: `5:7.0.15-1~deb12u6` → `7.0.15`, `1.6.18-1` → `1.6.18`. */
export function upstreamVersion(debianVersion: string): string {
  let v = debianVersion.trim();
  const colon = v.indexOf(':');
  if (colon >= 0) v = v.slice(colon + 1);
  const dash = v.lastIndexOf('-');
  if (dash > 0) v = v.slice(0, dash);
  // A tag allows [A-Za-z0-9_.-]: a `+dfsg` or `~rc1` suffix becomes `-dfsg`, `-rc1`.
  v = v.replace(/[^A-Za-z0-9_.-]/g, '-');
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(v))
    throw new Error(`no image tag in Debian version '${debianVersion}'`);
  return v;
}

/**
 * The Debian mirror in apt sources (one-line `deb URI suite ...` or deb822 `URIs:`), skipping
 * security archives; undefined when there is none.
 */
export function debianMirror(sources: string): string | undefined {
  const uris: string[] = [];
  for (const line of sources.split('\n')) {
    const one = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (one) uris.push(one[1]);
    const deb822 = /^\s*URIs:\s*(.+)$/i.exec(line);
    if (deb822) uris.push(...deb822[1].trim().split(/\s+/));
  }
  return uris.find((u) => /^https?:\/\//.test(u) && /\/debian\/?$/.test(u))?.replace(/\/$/, '');
}

/**
 * The npm a Node.js release bundles, from the CHANGELOG.md of its node-linux-* package: the
 * first "upgrade npm to X" at or below the release's own heading.
 */
export function bundledNpmVersion(changelog: string, nodeVersion: string): string {
  const anchor = changelog.indexOf(`<a id="${nodeVersion}"></a>`);
  if (anchor < 0) throw new Error(`Node.js ${nodeVersion} has no section in its CHANGELOG`);
  const m = /upgrade npm to (\d+\.\d+\.\d+)/.exec(changelog.slice(anchor));
  if (!m) throw new Error(`the CHANGELOG of Node.js ${nodeVersion} names no npm upgrade`);
  return m[1];
}

/** The Node.js version package-lock.json pins (the `node` package). */
export function pinnedNodeVersion(packageLock: string): string {
  const lock = JSON.parse(packageLock) as { packages?: Record<string, { version?: string }> };
  const v = lock.packages?.['node_modules/node']?.version;
  if (!v) throw new Error('package-lock.json pins no `node` package (node_modules/node)');
  return v;
}

/** The default of `ARG <name>=<value>` in a Dockerfile. */
export function dockerfileArg(dockerfile: string, name: string): string | undefined {
  const m = new RegExp(`^\\s*ARG\\s+${name}=(\\S+)\\s*$`, 'm').exec(dockerfile);
  return m?.[1];
}

/**
 * The build-context paths a Dockerfile copies in (`COPY`/`ADD` without `--from`): what an
 * image built from it depends on besides the base.
 */
export function dockerfileSources(dockerfile: string): string[] {
  const out: string[] = [];
  const text = dockerfile.replace(/\\\n/g, ' ');
  for (const line of text.split('\n')) {
    const m = /^\s*(?:COPY|ADD)\s+(.*)$/i.exec(line);
    if (!m) continue;
    const args = m[1].trim().split(/\s+/);
    if (args.some((a) => a.startsWith('--from'))) continue;
    out.push(...args.filter((a) => !a.startsWith('--')).slice(0, -1));
  }
  return [...new Set(out.map((p) => p.replace(/\/$/, '')))];
}

/** The operator's image reference in a synthesized memcached-operator.k8s.yaml. */
export function operatorImageInManifest(yamlText: string): string {
  for (const doc of parseAllDocuments(yamlText)) {
    const o = doc.toJS() as any;
    if (o?.kind !== 'Deployment') continue;
    const containers: any[] = o.spec?.template?.spec?.containers ?? [];
    const manager =
      containers.find((c) => c.name === 'manager') ?? (containers.length === 1 ? containers[0] : undefined);
    if (manager?.image) return manager.image as string;
  }
  throw new Error('no Deployment with a `manager` container in the operator manifest');
}

export type Builder = 'docker' | 'podman' | 'buildah';

export interface OperatorBuild {
  builder: Builder;
  /** The tag to give the image. */
  tag: string;
  /** NODE_IMAGE build argument; undefined keeps the Dockerfile's default (the upstream image). */
  base?: string;
  /** The build context: the repository root. */
  context: string;
  /** Files bind-mounted into the build's RUN steps (podman, buildah): `host:container:ro`. */
  volumes?: string[];
}

/** The command line that builds the operator image from the Dockerfile with `builder`. */
export function operatorBuildCommand(b: OperatorBuild): string[] {
  const args = ['-f', join(b.context, 'Dockerfile'), '-t', b.tag];
  if (b.base) args.push('--build-arg', `NODE_IMAGE=${b.base}`);
  if (b.builder !== 'docker') for (const v of b.volumes ?? []) args.push('--volume', v);
  // `npm ci` in the build stage reaches the npm registry.
  const local = b.base?.startsWith('localhost/');
  switch (b.builder) {
    case 'docker':
      return ['docker', 'build', ...args, b.context];
    case 'podman':
      return [
        'podman',
        '--runtime',
        OCI_RUNTIME,
        'build',
        '--network',
        'host',
        ...CONTAINER_ULIMITS,
        ...(local ? ['--pull=never'] : []),
        ...args,
        b.context,
      ];
    case 'buildah':
      return [...BUILDAH_BUD, ...(local ? ['--pull=never'] : []), ...args, b.context];
  }
}

/** `buildah bud` as every build here runs it: runc, ulimits within the hard limits, host network (apt, npm). */
const BUILDAH_BUD = ['buildah', 'bud', '--runtime', OCI_RUNTIME, '--network', 'host', ...CONTAINER_ULIMITS];

/**
 * The host's npm registry settings for the build stage's `npm ci` (podman and buildah mount
 * them into RUN steps; nothing lands in the image): on a machine whose npm reaches the
 * registry through a TLS proxy with its own CA (npm's `cafile`) or another registry, the
 * container's npm needs the same. Writes an npmrc into `dir` and returns the volumes; none
 * when the host's npm uses the defaults.
 */
export function hostNpmVolumes(dir: string): string[] {
  const get = (key: string) => {
    // Under npm (npm test, npm run image) npm's configuration is in the environment already;
    // asking `npm config` costs a process that a busy machine may starve past the timeout.
    const fromEnv = process.env[`npm_config_${key}`];
    if (fromEnv) return fromEnv;
    const r = spawnSync('npm', ['config', 'get', key], { encoding: 'utf8', timeout: 120_000 });
    const v = r.status === 0 ? r.stdout.trim() : '';
    return v && v !== 'null' && v !== 'undefined' ? v : undefined;
  };
  const cafile = get('cafile');
  const registry = get('registry');
  const lines: string[] = [];
  const volumes: string[] = [];
  if (cafile && existsSync(cafile)) {
    lines.push(`cafile=${cafile}`);
    volumes.push(`${cafile}:${cafile}:ro`);
  }
  if (registry && registry.replace(/\/$/, '') !== 'https://registry.npmjs.org') lines.push(`registry=${registry}`);
  if (lines.length === 0) return [];
  mkdirSync(dir, { recursive: true });
  const npmrc = join(dir, 'npmrc');
  writeFileSync(npmrc, lines.join('\n') + '\n');
  // npm's global config file: <prefix>/etc/npmrc, and node images keep npm under /usr/local.
  return [`${npmrc}:/usr/local/etc/npmrc:ro`, ...volumes];
}

/** The command that pushes `tag` to its registry. */
export function pushCommand(builder: Builder, tag: string): string[] {
  return builder === 'buildah' ? ['buildah', 'push', tag] : [builder, 'push', tag];
}

/** The first builder that works, in order docker (only if its daemon answers), podman, buildah. */
export function pickBuilder(works: (b: Builder) => boolean): Builder | undefined {
  return (['docker', 'podman', 'buildah'] as const).find(works);
}

/** True when `builder` can build on this machine (docker: a daemon answers `docker info`). */
export function builderWorks(builder: Builder): boolean {
  const probe = builder === 'docker' ? ['docker', 'info'] : [builder, '--version'];
  const r = spawnSync(probe[0], probe.slice(1), { stdio: 'ignore', timeout: 20_000 });
  return r.status === 0;
}

/**
 * The synth configuration (stack.yaml's shape, constructs/config.ts) that points every
 * manifest at the local images. Feed it to synth through STACK_CONFIG (writeStackConfig).
 */
export function stackConfigFor(images: Pick<ImageSet, 'operator' | 'memcached' | 'redis' | 'haproxy'>) {
  return {
    redis: {
      image: images.redis.ref,
      ha: { haproxy: { image: images.haproxy.ref } },
    },
    memcached: {
      operator: { image: images.operator.ref, memcachedImage: images.memcached.ref },
    },
  };
}

/** Writes stackConfigFor(images) as YAML to `file` (for STACK_CONFIG); returns its path. */
export function writeStackConfig(images: Pick<ImageSet, 'operator' | 'memcached' | 'redis' | 'haproxy'>, file: string) {
  const header = '# The local images of cluster/images.ts (written by writeStackConfig).\n';
  writeFileSync(file, header + stringify(stackConfigFor(images)));
  return resolve(file);
}

/** sha256 of the given strings and files (a folder: all files under it, sorted by path). */
export function hashInputs(root: string, parts: readonly (string | { path: string })[]): string {
  const h = createHash('sha256');
  const addFile = (abs: string) => {
    const st = statSync(abs);
    if (st.isDirectory()) {
      for (const e of readdirSync(abs).sort()) addFile(join(abs, e));
      return;
    }
    h.update(`file ${relative(root, abs)} ${st.mode & 0o111 ? 'x' : '-'}\n`);
    h.update(readFileSync(abs));
  };
  for (const p of parts) {
    if (typeof p === 'string') h.update(`str ${p}\n`);
    else addFile(resolve(root, p.path));
  }
  return h.digest('hex');
}

// ---------------------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------------------

export function imagesCacheDir(): string {
  return resolve(process.env.IMAGES_CACHE_DIR ?? join(repoRoot(), '.cache', 'images'));
}

/** The tools cluster/images.ts needs, with the package that brings each (scripts/images-install.sh). */
const TOOLS: [string, string][] = [
  ['buildah', 'buildah'],
  ['podman', 'podman'],
  ['runc', 'runc'],
  ['debootstrap', 'debootstrap'],
  ['npm', 'npm'],
];

function missingTools(): string[] {
  return TOOLS.filter(([cmd]) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status !== 0).map(
    ([cmd, pkg]) => `${cmd} (Debian package ${pkg})`,
  );
}

class Runner {
  constructor(readonly logFile: string) {}

  /** Runs a command with its output appended to the log; rejects with the log's tail on failure. */
  run(argv: string[], opts: { cwd?: string; input?: string } = {}): Promise<string> {
    const fd = openSync(this.logFile, 'a');
    writeFileSync(fd, `\n$ ${argv.join(' ')}\n`);
    return new Promise((done, fail) => {
      const child = spawn(argv[0], argv.slice(1), {
        cwd: opts.cwd,
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', fd],
      });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        writeFileSync(fd, d);
      });
      if (opts.input !== undefined) child.stdin!.end(opts.input);
      child.on('error', (err) => {
        closeSync(fd);
        fail(new Error(`${argv[0]}: ${err.message}`));
      });
      child.on('close', (code, signal) => {
        closeSync(fd);
        if (code === 0) return done(out);
        const tail = readFileSync(this.logFile, 'utf8').split('\n').slice(-25).join('\n');
        fail(
          new Error(
            `${argv.slice(0, 3).join(' ')} ... failed (${signal ?? `exit code ${code}`}); log ${this.logFile}:\n${tail}`,
          ),
        );
      });
    });
  }
}

interface Stamped {
  ref: string;
  id: string;
  stamp: string;
}

/** An image in storage labelled with `stamp`, if any: its first local name and its ID. */
async function findStamped(r: Runner, stamp: string, prefix: string): Promise<Stamped | undefined> {
  const out = await r.run([
    'podman',
    'images',
    '--filter',
    `label=${STAMP_LABEL}=${stamp}`,
    '--format',
    '{{.Id}} {{.Names}}',
  ]);
  for (const line of out.split('\n')) {
    const m = /^(\S+) \[(.*)\]$/.exec(line.trim());
    if (!m) continue;
    const ref = m[2].split(' ').find((n) => n.startsWith(`${prefix}/`));
    if (ref) return { ref, id: m[1], stamp };
  }
  return undefined;
}

async function imageSize(r: Runner, ref: string): Promise<number> {
  return Number((await r.run(['podman', 'image', 'inspect', '--format', '{{.Size}}', ref])).trim());
}

/** Removes a superseded image that no name refers to any more (kept while images use it as a base). */
async function removeIfUnnamed(r: Runner, id: string): Promise<void> {
  try {
    const names = (await r.run(['podman', 'image', 'inspect', '--format', '{{len .RepoTags}}', id])).trim();
    if (names === '0') await r.run(['podman', 'rmi', id]);
  } catch {
    // gone already, or still the base of another image: either way nothing to do
  }
}

/** Saves `ref` as an OCI archive at `archive` (written beside it, then renamed). */
async function saveArchive(r: Runner, ref: string, archive: string): Promise<void> {
  const tmp = `${archive}.tmp`;
  rmSync(tmp, { force: true });
  await r.run(['podman', 'save', '--format', 'oci-archive', '-o', tmp, ref]);
  renameSync(tmp, archive);
}

/** Runs `command` in a throwaway container of `ref` (no network) and returns its stdout. */
function runIn(r: Runner, ref: string, command: string[], user?: string): Promise<string> {
  return r.run([
    'podman',
    'run',
    '--rm',
    '--runtime',
    OCI_RUNTIME,
    ...CONTAINER_ULIMITS,
    '--network',
    'none',
    ...(user ? ['--user', user] : []),
    ref,
    ...command,
  ]);
}

/** A simple cross-process lock (a file holding the owner's pid); stale locks are taken over. */
async function withLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  for (let waited = 0; ; waited += 500) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const pid = Number(readFileSync(file, 'utf8').trim() || '0');
      let alive = pid > 0;
      if (alive) {
        try {
          process.kill(pid, 0);
        } catch {
          alive = false;
        }
      }
      if (!alive) {
        rmSync(file, { force: true });
        continue;
      }
      if (waited > 60 * 60_000) throw new Error(`images: ${file} held by pid ${pid} for an hour`);
      await new Promise((d) => setTimeout(d, 500));
    }
  }
  try {
    return await fn();
  } finally {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
}

/**
 * Builds what is missing or stale and returns every image with its archive. Needs buildah,
 * podman, runc and debootstrap (scripts/images-install.sh installs them), the Debian mirror
 * and the npm registry.
 */
export async function buildImages(options: BuildImagesOptions = {}): Promise<ImageSet> {
  const missing = missingTools();
  if (missing.length > 0) {
    throw new Error(
      `images: missing ${missing.join(', ')}; install them with: bash scripts/images-install.sh (as root, Debian)`,
    );
  }
  const root = repoRoot();
  const cacheDir = options.cacheDir ?? imagesCacheDir();
  const prefix = options.prefix ?? 'localhost/kts';
  const say = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  mkdirSync(join(cacheDir, 'logs'), { recursive: true });
  return withLock(join(cacheDir, '.lock'), () => new ImageBuild(root, cacheDir, prefix, !!options.force, say).all());
}

class ImageBuild {
  constructor(
    readonly root: string,
    readonly cacheDir: string,
    readonly prefix: string,
    readonly force: boolean,
    readonly say: (line: string) => void,
  ) {}

  runner(name: ImageName): Runner {
    const logFile = join(this.cacheDir, 'logs', `${name}.log`);
    writeFileSync(logFile, `=== ${new Date().toISOString()} images: ${name}\n`);
    return new Runner(logFile);
  }

  async all(): Promise<ImageSet> {
    const debian = await this.debian();
    const node = await this.node(debian);
    const operator = await this.operator(node);
    const memcached = await this.fromDebian('memcached', debian);
    const redis = await this.fromDebian('redis', debian);
    const haproxy = await this.fromDebian('haproxy', debian);
    return { debian, node, operator, memcached, redis, haproxy };
  }

  /**
   * The shared part of every image: reuse an image labelled with `stamp` (saving its archive
   * if missing), or build it with `build` (which returns the ref it tagged) and save it.
   */
  async ensure(name: ImageName, stamp: string, r: Runner, build: () => Promise<string>): Promise<BuiltImage> {
    const started = Date.now();
    const archive = join(this.cacheDir, `${name}.oci.tar`);
    const stampFile = join(this.cacheDir, `${name}.json`);
    let found = this.force ? undefined : await findStamped(r, stamp, this.prefix);
    let built = false;
    if (!found) {
      this.say(`images: building ${name} (log: ${r.logFile}) ...`);
      const ref = await build();
      found = await findStamped(r, stamp, this.prefix);
      if (!found || !found.ref.startsWith(`${this.prefix}/`))
        throw new Error(`images: ${name} was built as ${ref} but no image carries its stamp ${stamp}`);
      found = { ...found, ref };
      built = true;
    }
    let previous: Partial<Stamped> = {};
    try {
      previous = JSON.parse(readFileSync(stampFile, 'utf8'));
    } catch {
      // no stamp file yet
    }
    if (built || previous.id !== found.id || previous.ref !== found.ref || !existsSync(archive)) {
      await saveArchive(r, found.ref, archive);
      writeFileSync(stampFile, JSON.stringify({ ref: found.ref, id: found.id, stamp }, null, 2) + '\n');
    }
    if (built && previous.id && previous.id !== found.id) await removeIfUnnamed(r, previous.id);
    const size = await imageSize(r, found.ref);
    const seconds = (Date.now() - started) / 1000;
    this.say(
      `images: ${name} ${found.ref} ${built ? 'built' : 'up to date'} in ${seconds.toFixed(1)} s, ${(size / 1e6).toFixed(1)} MB`,
    );
    return { name, ref: found.ref, id: found.id, archive, size, stamp, built, seconds };
  }

  /** Common buildah bud arguments: runc, ulimits, host network (apt, npm), local bases only. */
  bud(r: Runner, file: string, context: string, tag: string, stamp: string, extra: string[] = []) {
    return r.run([
      ...BUILDAH_BUD,
      '--pull=never',
      '--layers=false',
      '--label',
      `${STAMP_LABEL}=${stamp}`,
      ...extra,
      '-f',
      file,
      '-t',
      tag,
      context,
    ]);
  }

  async debian(): Promise<BuiltImage> {
    const r = this.runner('debian');
    const file = join(this.root, 'images', 'debian', 'Containerfile');
    const mirror = process.env.DEBIAN_MIRROR ?? debianMirror(aptSources()) ?? 'http://deb.debian.org/debian';
    // The mirror is left out of the stamp: any mirror gives the same suite.
    const stamp = hashInputs(this.root, ['debian', DEBIAN_SUITE, 'minbase', { path: file }]);
    return this.ensure('debian', stamp, r, async () => {
      const ctx = join(this.cacheDir, 'ctx', 'debian');
      rmSync(ctx, { recursive: true, force: true });
      mkdirSync(ctx, { recursive: true });
      const rootfs = join(ctx, 'rootfs');
      await r.run(['debootstrap', '--variant=minbase', DEBIAN_SUITE, rootfs, mirror]);
      await r.run(['tar', '-C', rootfs, '--numeric-owner', '-cf', join(ctx, 'rootfs.tar'), '.']);
      rmSync(rootfs, { recursive: true, force: true });
      const tag = `${this.prefix}/debian:${DEBIAN_SUITE}`;
      await this.bud(r, file, ctx, tag, stamp, ['--squash', '--build-arg', `DEBIAN_MIRROR=${mirror}`]);
      rmSync(ctx, { recursive: true, force: true });
      return tag;
    });
  }

  async node(debian: BuiltImage): Promise<BuiltImage> {
    const r = this.runner('node');
    const file = join(this.root, 'images', 'node', 'Containerfile');
    const nodeVersion = pinnedNodeVersion(readFileSync(join(this.root, 'package-lock.json'), 'utf8'));
    const pkg = `node-linux-${hostArch()}`;
    const stamp = hashInputs(this.root, ['node', pkg, nodeVersion, debian.id, { path: file }]);
    return this.ensure('node', stamp, r, async () => {
      const ctx = join(this.cacheDir, 'ctx', 'node');
      rmSync(ctx, { recursive: true, force: true });
      mkdirSync(join(ctx, 'node-linux'), { recursive: true });
      mkdirSync(join(ctx, 'npm'), { recursive: true });
      // npm pack checks each tarball against the registry's integrity hash.
      const nodeTgz = await this.npmPack(r, `${pkg}@${nodeVersion}`, ctx);
      await r.run(['tar', '-xzf', nodeTgz, '-C', join(ctx, 'node-linux'), '--strip-components=1']);
      const npmVersion = bundledNpmVersion(readFileSync(join(ctx, 'node-linux', 'CHANGELOG.md'), 'utf8'), nodeVersion);
      const npmTgz = await this.npmPack(r, `npm@${npmVersion}`, ctx);
      await r.run(['tar', '-xzf', npmTgz, '-C', join(ctx, 'npm'), '--strip-components=1']);
      for (const t of [nodeTgz, npmTgz]) rmSync(t);
      const tag = `${this.prefix}/node:${nodeVersion}`;
      await this.bud(r, file, ctx, tag, stamp, [
        '--build-arg',
        `DEBIAN_IMAGE=${debian.ref}`,
        '--build-arg',
        `NODE_VERSION=${nodeVersion}`,
        '--build-arg',
        `NPM_VERSION=${npmVersion}`,
      ]);
      rmSync(ctx, { recursive: true, force: true });
      return tag;
    });
  }

  /** `npm pack spec` into dir; returns the tarball's path. */
  async npmPack(r: Runner, spec: string, dir: string): Promise<string> {
    const out = await r.run(['npm', 'pack', spec, '--pack-destination', dir, '--silent'], { cwd: dir });
    const name = out.trim().split('\n').pop()!.trim();
    const tgz = join(dir, name);
    if (!name || !existsSync(tgz)) throw new Error(`images: npm pack ${spec} printed no tarball name`);
    return tgz;
  }

  async operator(node: BuiltImage): Promise<BuiltImage> {
    const r = this.runner('operator');
    const dockerfile = readFileSync(join(this.root, 'Dockerfile'), 'utf8');
    const sources = dockerfileSources(dockerfile).map((path) => ({ path }));
    const stamp = hashInputs(this.root, [
      'operator',
      node.id,
      { path: 'Dockerfile' },
      { path: '.dockerignore' },
      ...sources,
    ]);
    const version = (JSON.parse(readFileSync(join(this.root, 'package.json'), 'utf8')) as { version: string }).version;
    return this.ensure('operator', stamp, r, async () => {
      const tag = `${this.prefix}/memcached-operator:${version}`;
      const volumes = hostNpmVolumes(join(this.cacheDir, 'ctx', 'operator'));
      const argv = operatorBuildCommand({ builder: 'buildah', tag, base: node.ref, context: this.root, volumes });
      // The stamp label goes on the final image only (LABEL would change the Dockerfile).
      argv.splice(2, 0, '--label', `${STAMP_LABEL}=${stamp}`, '--layers=false');
      await r.run(argv);
      return tag;
    });
  }

  async fromDebian(name: DebianImageName, debian: BuiltImage): Promise<BuiltImage> {
    const r = this.runner(name);
    const file = join(this.root, 'images', name, 'Containerfile');
    const stamp = hashInputs(this.root, [name, debian.id, { path: file }]);
    return this.ensure(name, stamp, r, async () => {
      const ctx = join(this.cacheDir, 'ctx', name);
      mkdirSync(ctx, { recursive: true });
      const scratchTag = `${this.prefix}/${name}:building`;
      await this.bud(r, file, ctx, scratchTag, stamp, ['--build-arg', `DEBIAN_IMAGE=${debian.ref}`]);
      // Tagged with Debian's version of the package, e.g. memcached 1.6.18-1 → :1.6.18.
      const deb = await runIn(r, scratchTag, ['dpkg-query', '-W', '-f', '${Version}', DEBIAN_PACKAGES[name]]);
      const tag = `${this.prefix}/${name}:${upstreamVersion(deb)}`;
      await r.run(['podman', 'tag', scratchTag, tag]);
      await r.run(['podman', 'untag', scratchTag, scratchTag]);
      rmSync(ctx, { recursive: true, force: true });
      return tag;
    });
  }
}

/** The machine's apt sources, all files concatenated (empty when there are none). */
function aptSources(): string {
  const files = ['/etc/apt/sources.list'];
  try {
    for (const f of readdirSync('/etc/apt/sources.list.d').sort()) files.push(join('/etc/apt/sources.list.d', f));
  } catch {
    // no sources.list.d
  }
  return files.map((f) => (existsSync(f) ? readFileSync(f, 'utf8') : '')).join('\n');
}
