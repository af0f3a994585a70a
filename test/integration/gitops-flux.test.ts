// GitOps for real: Flux (source-controller and kustomize-controller v1.9.6, built from Go
// modules by scripts/flux-build.sh) syncs the committed dist/ into a control plane, the way a
// user's cluster would, and this file checks what users rely on (docs/gitops.md):
//   - the first sync applies every object of dist/ in one pass (the CRD before the Memcached
//     sample), everything healthy — StatefulSets included, their claims bound to volumes of
//     cluster/storage-provisioner.ts — and lastAppliedRevision names the commit;
//   - a commit that changes a value is applied; one that deletes a stack prunes it;
//   - a commit with an invalid value or invalid YAML applies nothing and turns the
//     Kustomization Ready=False with the server's (or the parser's) message; a good commit
//     after them is applied again.
// The repository is this checkout at HEAD, cloned into a temporary directory and served over
// `git http-backend` on 127.0.0.1 (test/support/git-http.ts); the test commits to its clone.
// The GitRepository and Kustomization are the ones docs/gitops.md shows, only the URL changed.
//
// It uses a workload-tier control plane of its own, not the suite's shared one: the
// provisioner installs a default StorageClass (which would change what other files' claims
// bind to), the test needs a cluster where the CRD does not exist yet, and pruning deletes
// stacks in `default`.
import * as k8s from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { repoRoot, startControlPlane, type ControlPlane } from '../../cluster/controlplane';
import { Component, failIfExited, forget, freePort, httpRequest, killOnExit, logTails } from '../../cluster/processes';
import {
  PROVISIONER,
  STORAGE_CLASS,
  startStorageProvisioner,
  type StorageProvisioner,
} from '../../cluster/storage-provisioner';
import { waitFor } from '../support/wait';
import { serveGitRepositories, type GitHttpServer } from '../support/git-http';

type Obj = Record<string, any>;

const ROOT = repoRoot();
const FLUX_BIN = process.env.FLUX_BIN_DIR ?? join(ROOT, '.cache', 'flux-bin');
const NS = 'flux-system';
const KS = { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', plural: 'kustomizations' };
const SYNC_TIMEOUT = 120_000;

const run = promisify(execFile);

let tmp: string;
let cp: ControlPlane;
let storage: StorageProvisioner | undefined;
let gitServer: GitHttpServer | undefined;
const controllers: Component[] = [];
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let custom: k8s.CustomObjectsApi;
let objects: k8s.KubernetesObjectApi;
let work: string; // the test's clone, whose commits are pushed to the served repository
let fluxName: string; // metadata.name of the GitRepository and the Kustomization
const readyHistory: string[] = []; // every Ready condition the Kustomization reported, in order
let stopWatch: (() => void) | undefined;

// ---------------------------------------------------------------------------------------
// helpers

async function git(...args: string[]): Promise<string> {
  // async: the Git server runs in this process, so a synchronous git call would deadlock it
  return (await run('git', args, { cwd: work, encoding: 'utf8' })).stdout.trim();
}

/** Commits the working clone's changes, pushes them to the served repository, asks Flux to sync; returns the commit. */
async function commitAndSync(message: string): Promise<string> {
  await git('add', '-A', '--', 'dist');
  await git('commit', '-q', '-m', message);
  await git('push', '-q', 'origin', 'main');
  const sha = await git('rev-parse', 'HEAD');
  await kubectl([
    '-n',
    NS,
    'annotate',
    '--overwrite',
    `gitrepository/${fluxName}`,
    `reconcile.fluxcd.io/requestedAt=${Date.now()}`,
  ]);
  return sha;
}

function editDist(file: string, edit: (text: string) => string): void {
  const path = join(work, 'dist', file);
  const before = readFileSync(path, 'utf8');
  const after = edit(before);
  if (after === before) throw new Error(`the edit of dist/${file} changed nothing`);
  writeFileSync(path, after);
}

/** Replaces the `replicas:` of the object named `name` in dist/`file` (text edit, as a person would). */
function setReplicas(file: string, name: string, value: string): void {
  editDist(file, (text) =>
    text
      .split(/^---$/m)
      .map((doc) =>
        new RegExp(`^ {2}name: ${name}$`, 'm').test(doc)
          ? doc.replace(/^ {2}replicas: .*$/m, `  replicas: ${value}`)
          : doc,
      )
      .join('---'),
  );
}

async function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = execFile(
      'kubectl',
      ['--kubeconfig', cp.kubeconfigPath, ...args],
      { encoding: 'utf8' },
      (err, stdout, stderr) =>
        err ? fail(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : done(stdout),
    );
    child.stdin?.end(input ?? '');
  });
}

const kustomization = async (): Promise<Obj> =>
  (await custom.getNamespacedCustomObject({ ...KS, namespace: NS, name: fluxName })) as Obj;
const readyOf = (o: Obj): Obj | undefined => (o.status?.conditions ?? []).find((c: Obj) => c.type === 'Ready');
const revisionOf = (sha: string) => `main@sha1:${sha}`;

/** Waits until the Kustomization has applied `sha` and is Ready. */
async function waitApplied(sha: string): Promise<Obj> {
  return waitFor(
    `Kustomization ${fluxName} to apply ${sha.slice(0, 12)} and be Ready`,
    async () => {
      const k = await kustomization();
      const ready = readyOf(k);
      return k.status?.lastAppliedRevision === revisionOf(sha) &&
        ready?.status === 'True' &&
        ready.observedGeneration === k.metadata.generation
        ? k
        : undefined;
    },
    {
      timeoutMs: SYNC_TIMEOUT,
      check: failIfExited(controllers),
      details: () => `${statusText()}\n${logTails(controllers, 10)()}`,
    },
  );
}

/** Waits until the Kustomization has tried `sha` and is Ready=False. */
async function waitRejected(sha: string): Promise<Obj> {
  return waitFor(
    `Kustomization ${fluxName} to reject ${sha.slice(0, 12)}`,
    async () => {
      const k = await kustomization();
      return k.status?.lastAttemptedRevision === revisionOf(sha) && readyOf(k)?.status === 'False' ? k : undefined;
    },
    {
      timeoutMs: SYNC_TIMEOUT,
      check: failIfExited(controllers),
      details: () => `${statusText()}\n${logTails(controllers, 10)()}`,
    },
  );
}

let lastStatus = '';
function statusText(): string {
  return `Ready history: ${readyHistory.join(' | ')}\nlast status: ${lastStatus}`;
}

/** Every object in the working clone's dist/. */
function distObjects(): Obj[] {
  const dir = join(work, 'dist');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => fileObjects(f));
}
function fileObjects(file: string): Obj[] {
  return parseAllDocuments(readFileSync(join(work, 'dist', file), 'utf8'))
    .map((d) => d.toJS() as Obj)
    .filter(Boolean);
}
/** Flux's inventory id of an object: <namespace>_<name>_<group>_<kind>. */
const inventoryId = (o: Obj) => {
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
  return `${o.metadata.namespace ?? ''}_${o.metadata.name}_${group}_${o.kind}`;
};
const objectRef = (o: Obj) => ({
  apiVersion: o.apiVersion,
  kind: o.kind,
  metadata: { name: o.metadata.name, namespace: o.metadata.namespace },
});
const exists = async (o: Obj) => {
  try {
    await objects.read(objectRef(o));
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false;
    throw err;
  }
};

function startController(name: string, args: string[]): Component {
  const c = new Component(name, [join(FLUX_BIN, name), ...args], join(tmp, `${name}.log`), {
    PATH: process.env.PATH,
    HOME: tmp,
    KUBECONFIG: cp.kubeconfigPath,
    RUNTIME_NAMESPACE: NS,
  });
  c.start(() => undefined);
  killOnExit(c);
  controllers.push(c);
  return c;
}

/**
 * The GitRepository and Kustomization that README.md and docs/gitops.md show (the block after
 * the flux-objects marker). Both must show the same block, so what users copy is what runs here.
 */
function documentedFluxObjects(): Obj[] {
  const blocks = ['README.md', join('docs', 'gitops.md')].map((file) => {
    const m = /<!-- flux-objects:[^>]*-->\s*```yaml\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, file), 'utf8'));
    if (!m) throw new Error(`${file} has no \`\`\`yaml block after a <!-- flux-objects: ... --> marker`);
    return m[1];
  });
  expect(blocks[0]).toBe(blocks[1]);
  return parseAllDocuments(blocks[0]).map((d) => d.toJS() as Obj);
}

// ---------------------------------------------------------------------------------------
// setup

beforeAll(async () => {
  const missing = ['source-controller', 'kustomize-controller', 'crds'].filter((f) => !existsSync(join(FLUX_BIN, f)));
  if (missing.length > 0) {
    throw new Error(
      `Flux binaries missing in ${FLUX_BIN}: ${missing.join(', ')}. Build them with \`bash scripts/flux-build.sh\` ` +
        '(part of `npm run test:prereqs`; needs Go >= 1.26 and the Go module proxy).',
    );
  }
  tmp = await mkdtemp(join(tmpdir(), 'gitops-flux-'));

  // The cluster, with storage.
  cp = await startControlPlane({ tier: 'workload', nodes: 1, baseDir: tmp });
  kc = cp.kubeConfig();
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  storage = await startStorageProvisioner(kc, { root: join(cp.dir, 'volumes') });

  // The repository: this checkout's HEAD on branch main, bare and served; a working clone to commit in.
  const served = join(tmp, 'git');
  mkdirSync(served);
  const head = (await run('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' })).stdout.trim();
  await run('git', ['clone', '-q', '--bare', '--no-tags', ROOT, join(served, 'stack.git')]);
  await run('git', ['update-ref', 'refs/heads/main', head], { cwd: join(served, 'stack.git') });
  await run('git', ['symbolic-ref', 'HEAD', 'refs/heads/main'], { cwd: join(served, 'stack.git') });
  work = join(tmp, 'work');
  await run('git', ['clone', '-q', '--branch', 'main', join(served, 'stack.git'), work]);
  await git('config', 'user.name', 'gitops test');
  await git('config', 'user.email', 'gitops-test@example.invalid');
  await git('config', 'commit.gpgsign', 'false');
  gitServer = await serveGitRepositories(served);

  // Flux: CRDs, then the two controllers on loopback ports, leader election off.
  await kubectl(['apply', '--server-side', '-f', join(FLUX_BIN, 'crds')]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(FLUX_BIN, 'crds')]);
  const [storagePort, ...ports] = await Promise.all([0, 1, 2, 3, 4].map(() => freePort()));
  mkdirSync(join(tmp, 'artifacts')); // source-controller refuses a storage path that does not exist
  const common = ['--enable-leader-election=false', '--log-level=info', '--events-addr='];
  startController('source-controller', [
    ...common,
    `--metrics-addr=127.0.0.1:${ports[0]}`,
    `--health-addr=127.0.0.1:${ports[1]}`,
    `--storage-path=${join(tmp, 'artifacts')}`,
    `--storage-addr=127.0.0.1:${storagePort}`,
    `--storage-adv-addr=127.0.0.1:${storagePort}`,
  ]);
  startController('kustomize-controller', [
    ...common,
    `--metrics-addr=127.0.0.1:${ports[2]}`,
    `--health-addr=127.0.0.1:${ports[3]}`,
  ]);
  for (const [i, c] of controllers.entries()) {
    await waitFor(
      `${c.name} /readyz`,
      async () => (await httpRequest(`http://127.0.0.1:${ports[2 * i + 1]}/readyz`)).status === 200,
      {
        timeoutMs: 60_000,
        check: failIfExited([c]),
        details: logTails([c]),
      },
    );
  }

  // What the user creates by hand (README): the namespace and the password Secrets of
  // redis-ha and redis-sfs.
  await core.createNamespace({ body: { metadata: { name: NS } } });
  for (const name of ['redis-ha-auth', 'redis-sfs-auth']) {
    await core.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name }, stringData: { password: randomBytes(16).toString('hex') } },
    });
  }

  // Record every Ready condition the Kustomization reports from its creation on.
  const watch = new k8s.Watch(kc);
  const req = await watch.watch(
    `/apis/${KS.group}/${KS.version}/namespaces/${NS}/${KS.plural}`,
    {},
    (_phase, obj: Obj) => {
      const r = readyOf(obj);
      lastStatus = JSON.stringify(obj.status ?? {});
      const entry = r ? `${r.status}/${r.reason}: ${r.message}` : 'no Ready condition';
      if (readyHistory[readyHistory.length - 1] !== entry) readyHistory.push(entry);
    },
    () => undefined,
  );
  stopWatch = () => req.abort();

  // The documented Flux objects, pointing at the served repository.
  const fluxObjects = documentedFluxObjects();
  const repo = fluxObjects.find((o) => o.kind === 'GitRepository')!;
  repo.spec.url = `${gitServer.url}/stack.git`;
  fluxName = fluxObjects.find((o) => o.kind === 'Kustomization')!.metadata.name;
  await kubectl(
    ['apply', '--server-side', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: fluxObjects }),
  );
}, 300_000);

afterAll(async () => {
  stopWatch?.();
  for (const c of controllers) {
    await c.stop('SIGTERM', 5000);
    forget(c);
  }
  await storage?.stop();
  await gitServer?.close();
  await cp?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}, 60_000);

// ---------------------------------------------------------------------------------------
// the tests (in order: each starts from the state the previous one left)

let headSha: string;
let appliedSha: string;

test('the documented objects are the ones users need: GitRepository on main, Kustomization on ./dist with prune and wait', () => {
  const [repo, ks] = [
    documentedFluxObjects().find((o) => o.kind === 'GitRepository')!,
    documentedFluxObjects().find((o) => o.kind === 'Kustomization')!,
  ];
  expect(repo.spec.ref).toEqual({ branch: 'main' });
  expect(ks.spec).toMatchObject({
    path: './dist',
    prune: true,
    wait: true,
    sourceRef: { kind: 'GitRepository', name: repo.metadata.name },
  });
});

test('first sync: every object of dist/ applied and healthy in one pass, lastAppliedRevision = HEAD', async () => {
  headSha = await git('rev-parse', 'HEAD');
  const started = Date.now();
  const k = await waitApplied(headSha);
  console.log(`[gitops-flux] first sync of ${headSha.slice(0, 12)} Ready after ${Date.now() - started} ms`);
  appliedSha = headSha;

  // One pass: the sample's CRD came first, no attempt to apply failed on the way. (Until the
  // GitRepository has fetched its first artifact, the Kustomization says ArtifactFailed:
  // there is nothing to apply yet.)
  expect(readyHistory.filter((h) => h.startsWith('False/') && !h.startsWith('False/ArtifactFailed:'))).toEqual([]);
  expect(readyHistory.filter((h) => h.startsWith('True/'))).toHaveLength(1);
  expect(k.status.lastAttemptedRevision).toBe(revisionOf(headSha));

  // Every object of dist/, and only those, in the inventory, on the server, applied by Flux.
  const expected = distObjects();
  expect(expected.map((o) => o.kind)).toEqual(
    expect.arrayContaining(['CustomResourceDefinition', 'Memcached', 'StatefulSet', 'Namespace']),
  );
  expect(k.status.inventory.entries.map((e: Obj) => e.id).sort()).toEqual(expected.map(inventoryId).sort());
  for (const o of expected) {
    const live = (await objects.read(objectRef(o))) as Obj;
    const managers = (live.metadata.managedFields ?? []).map((f: Obj) => f.manager);
    expect({ object: inventoryId(o), managers }).toEqual({
      object: inventoryId(o),
      managers: expect.arrayContaining(['kustomize-controller']),
    });
  }

  // Healthy: the StatefulSets' replicas ready on claims bound to provisioned volumes.
  const statefulSets = expected.filter((o) => o.kind === 'StatefulSet');
  expect(statefulSets.length).toBeGreaterThanOrEqual(2);
  for (const s of statefulSets) {
    const live = await apps.readNamespacedStatefulSet({ namespace: s.metadata.namespace, name: s.metadata.name });
    expect({ name: s.metadata.name, ready: live.status?.readyReplicas }).toEqual({
      name: s.metadata.name,
      ready: s.spec.replicas,
    });
    for (const tpl of s.spec.volumeClaimTemplates ?? []) {
      for (let i = 0; i < s.spec.replicas; i++) {
        const claim = await core.readNamespacedPersistentVolumeClaim({
          namespace: s.metadata.namespace,
          name: `${tpl.metadata.name}-${s.metadata.name}-${i}`,
        });
        expect(claim.status?.phase).toBe('Bound');
        // dist/'s templates name no class: the DefaultStorageClass admission filled in the default one
        expect(claim.spec?.storageClassName).toBe(tpl.spec.storageClassName ?? STORAGE_CLASS);
        const pv = await core.readPersistentVolume({ name: claim.spec!.volumeName! });
        expect(pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by']).toBe(PROVISIONER);
      }
    }
  }
  for (const d of expected.filter((o) => o.kind === 'Deployment')) {
    const live = await apps.readNamespacedDeployment({ namespace: d.metadata.namespace, name: d.metadata.name });
    expect({ name: d.metadata.name, available: live.status?.availableReplicas }).toEqual({
      name: d.metadata.name,
      available: d.spec.replicas,
    });
  }
});

test('a commit that changes a value is applied', async () => {
  const before = await apps.readNamespacedDeployment({ namespace: 'default', name: 'redis-deployment' });
  expect(before.spec?.replicas).toBe(1);
  setReplicas('redis-deployment.k8s.yaml', 'redis-deployment', '2');
  const sha = await commitAndSync('redis-deployment: 2 replicas');
  await waitApplied(sha);
  appliedSha = sha;
  const after = await apps.readNamespacedDeployment({ namespace: 'default', name: 'redis-deployment' });
  expect(after.spec?.replicas).toBe(2);
  expect(after.status?.availableReplicas).toBe(2); // wait: Ready only once the change is healthy
});

test('a commit that deletes a stack prunes it', async () => {
  const removed = fileObjects('redis-statefulset.k8s.yaml');
  expect(removed.length).toBeGreaterThan(1);
  for (const o of removed) expect(await exists(o)).toBe(true);
  await git('rm', '-q', 'dist/redis-statefulset.k8s.yaml');
  const sha = await commitAndSync('remove the redis-sfs stack');
  const k = await waitApplied(sha);
  appliedSha = sha;
  const gone = new Set(removed.map(inventoryId));
  expect(k.status.inventory.entries.filter((e: Obj) => gone.has(e.id))).toEqual([]);
  for (const o of removed) {
    await waitFor(`${inventoryId(o)} to be deleted`, async () => !(await exists(o)), { timeoutMs: 30_000 });
  }
  for (const o of distObjects())
    expect({ id: inventoryId(o), exists: await exists(o) }).toEqual({ id: inventoryId(o), exists: true });
});

test("the pruned StatefulSet's claims stay until deleted; then the provisioner deletes their volumes", async () => {
  // Pruning deletes the StatefulSet, not the claims of its volumeClaimTemplates (Kubernetes keeps them by default).
  const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace: 'default' })).items.filter((c) =>
    /^data-redis-sfs-\d+$/.test(c.metadata!.name!),
  );
  expect(claims.map((c) => c.metadata!.name).sort()).toEqual(['data-redis-sfs-0', 'data-redis-sfs-1']);
  const volumes = await Promise.all(claims.map((c) => core.readPersistentVolume({ name: c.spec!.volumeName! })));
  for (const pv of volumes) expect(existsSync(pv.spec!.hostPath!.path)).toBe(true);
  for (const c of claims)
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: 'default', name: c.metadata!.name! });
  for (const pv of volumes) {
    await waitFor(
      `volume ${pv.metadata!.name} to be deleted`,
      async () => {
        try {
          await core.readPersistentVolume({ name: pv.metadata!.name! });
          return false;
        } catch (err) {
          if ((err as { code?: number }).code === 404) return true;
          throw err;
        }
      },
      { timeoutMs: 60_000 },
    );
    expect(existsSync(pv.spec!.hostPath!.path)).toBe(false);
  }
});

test('a commit with an invalid value applies nothing and turns the Kustomization Ready=False with the server message', async () => {
  const haproxyBefore = await apps.readNamespacedDeployment({ namespace: 'default', name: 'redis-ha-haproxy' });
  const deploymentBefore = await apps.readNamespacedDeployment({ namespace: 'default', name: 'redis-deployment' });
  expect(haproxyBefore.spec?.replicas).toBe(2);
  setReplicas('redis-ha.k8s.yaml', 'redis-ha-haproxy', '3'); // valid on its own
  setReplicas('redis-deployment.k8s.yaml', 'redis-deployment', 'three');
  const sha = await commitAndSync('an invalid replica count');
  const k = await waitRejected(sha);
  const ready = readyOf(k)!;
  expect(ready.reason).toBe('ReconciliationFailed');
  // The API server's answer to the dry-run of that Deployment.
  expect(ready.message).toMatch(/Deployment\/default\/redis-deployment/);
  expect(ready.message).toMatch(/dry-run failed/);
  expect(ready.message).toMatch(/\.spec\.replicas: expected numeric \(int or float\), got string/);
  expect(k.status.lastAppliedRevision).toBe(revisionOf(appliedSha));
  // Nothing was applied, not even the valid change in the other file.
  const haproxyAfter = await apps.readNamespacedDeployment({ namespace: 'default', name: 'redis-ha-haproxy' });
  const deploymentAfter = await apps.readNamespacedDeployment({ namespace: 'default', name: 'redis-deployment' });
  expect(haproxyAfter.spec?.replicas).toBe(2);
  expect(haproxyAfter.metadata?.resourceVersion).toBe(haproxyBefore.metadata?.resourceVersion);
  expect(deploymentAfter.metadata?.generation).toBe(deploymentBefore.metadata?.generation);
});

test('a commit with invalid YAML applies nothing and turns the Kustomization Ready=False with the parser message', async () => {
  const haproxyBefore = await apps.readNamespacedDeployment({ namespace: 'default', name: 'redis-ha-haproxy' });
  setReplicas('redis-deployment.k8s.yaml', 'redis-deployment', '3'); // valid again
  editDist('redis-pod.k8s.yaml', (text) => text.replace(/^metadata:$/m, 'metadata: [unclosed'));
  const sha = await commitAndSync('a file that does not parse');
  const k = await waitRejected(sha);
  const ready = readyOf(k)!;
  expect(ready.reason).toBe('BuildFailed');
  expect(ready.message).toMatch(/redis-pod\.k8s\.yaml: MalformedYAMLError/);
  expect(k.status.lastAppliedRevision).toBe(revisionOf(appliedSha));
  const deployment = await apps.readNamespacedDeployment({ namespace: 'default', name: 'redis-deployment' });
  expect(deployment.spec?.replicas).toBe(2);
  const haproxyAfter = await apps.readNamespacedDeployment({ namespace: 'default', name: 'redis-ha-haproxy' });
  expect(haproxyAfter.metadata?.resourceVersion).toBe(haproxyBefore.metadata?.resourceVersion);
});

test('the next good commit is applied and the Kustomization is Ready again', async () => {
  editDist('redis-pod.k8s.yaml', (text) => text.replace(/^metadata: \[unclosed$/m, 'metadata:'));
  const sha = await commitAndSync('fix the YAML');
  await waitApplied(sha);
  const deployment = await apps.readNamespacedDeployment({ namespace: 'default', name: 'redis-deployment' });
  const haproxy = await apps.readNamespacedDeployment({ namespace: 'default', name: 'redis-ha-haproxy' });
  expect(deployment.spec?.replicas).toBe(3);
  expect(haproxy.spec?.replicas).toBe(3);
  expect(readyHistory[readyHistory.length - 1]).toMatch(/^True\//);
  console.log(`[gitops-flux] the Kustomization's Ready conditions, in order:\n  ${readyHistory.join('\n  ')}`);
});
