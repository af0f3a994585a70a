// The OLM bundle, checked by the real tools: the operator-framework/api validators (what
// `operator-sdk bundle validate` runs, plus the OperatorHub and good-practices suites) on the
// committed bundle/, then OLM's own olm-operator (built from Go modules by
// scripts/olm-build.sh) installing it on the shared workload-tier control plane.
// The catalog operator is not run (it unpacks bundle images); the test does what its
// InstallPlan does after unpacking: create the CRD, the CSV, the RBAC that OLM's resolver
// generates for the CSV (OLM's own RBACForClusterServiceVersion, through olm-rbac) and the
// bundle's Service. olm-operator then checks the CSV's requirements and creates the
// Deployment. Our operator runs under exactly that ServiceAccount and RBAC.
import * as k8s from '@kubernetes/client-node';
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../../cluster/binaries';
import { kubectlApply } from '../../cluster/operator-manifests';
import {
  dumpLogsOnFailure,
  OperatorProcess,
  startOperator,
  stopAll,
  synthesizedOperator,
} from '../../cluster/operator-process';
import { parseStackConfig } from '../../constructs/config';
import { renderBundle } from '../../constructs/olm-bundle';
import { createTestNamespace, kubeConfig, sharedCluster, type TestNamespace } from '../support/shared';
import { waitFor } from '../support/wait';

type Obj = Record<string, any>;
const ROOT = repoRoot();
const OLM_BIN = join(ROOT, '.cache', 'olm-bin');
const BUNDLE = join(ROOT, 'bundle');
const K8S_VERSION = '1.36';

/** A binary of scripts/olm-build.sh; missing means the prerequisites were not built: fail, never skip. */
function olmBin(name: string): string {
  const p = join(OLM_BIN, name);
  if (!existsSync(p))
    throw new Error(
      `${p} is missing: run \`bash scripts/olm-build.sh\` (npm test does, through scripts/test-prereqs.sh)`,
    );
  return p;
}

interface Finding {
  suite: string;
  object: string;
  type: string;
  field?: string;
  detail: string;
}
interface Report {
  csv: string;
  package: string;
  channels: string[];
  defaultChannel: string;
  suites: string[];
  errors: Finding[];
  warnings: Finding[];
}

function validate(dir: string): { status: number | null; report?: Report; stderr: string } {
  const r = spawnSync(olmBin('olm-validate'), ['-k8s-version', K8S_VERSION, dir], { encoding: 'utf8' });
  return { status: r.status, report: r.stdout ? (JSON.parse(r.stdout) as Report) : undefined, stderr: r.stderr };
}

const manifest = (dir: string, pred: (o: Obj) => boolean): Obj => {
  for (const f of readdirSync(join(dir, 'manifests'))) {
    const o = parse(readFileSync(join(dir, 'manifests', f), 'utf8')) as Obj;
    if (pred(o)) return o;
  }
  throw new Error(`no such manifest in ${dir}`);
};

describe('olm-validate: operator-framework/api validators on bundle/', () => {
  it('finds no error; the only warnings are the ones docs/olm.md accepts', () => {
    const { status, report, stderr } = validate(BUNDLE);
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    expect(report!).toMatchObject({
      csv: 'memcached-operator.v0.1.0',
      package: 'memcached-operator',
      channels: ['candidate'],
      defaultChannel: 'candidate',
    });
    expect(report!.suites).toEqual(['default', 'operatorhub', 'good-practices']);
    expect(report!.errors).toEqual([]);
    // Each accepted warning, with its reason, is listed in docs/olm.md ("Validator warnings").
    const docs = readFileSync(join(ROOT, 'docs', 'olm.md'), 'utf8');
    for (const w of report!.warnings)
      expect({ warning: w.detail, listed: docs.includes(w.detail) }).toEqual({ warning: w.detail, listed: true });
  });

  it('reports errors (exit 1) for a broken bundle: no supported install mode, CRD not owned', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bundle-broken-'));
    try {
      cpSync(BUNDLE, dir, { recursive: true });
      const file = join(dir, 'manifests', 'memcached-operator.clusterserviceversion.yaml');
      const csv = parse(readFileSync(file, 'utf8')) as Obj;
      csv.spec.installModes = csv.spec.installModes.map((m: Obj) => ({ ...m, supported: false }));
      csv.spec.customresourcedefinitions.owned = [];
      writeFileSync(file, JSON.stringify(csv));
      const { status, report } = validate(dir);
      expect(status).toBe(1);
      const details = report!.errors.map((e) => e.detail).join('\n');
      expect(details).toMatch(/none of InstallModeTypes are supported/);
      expect(details).toMatch(/Kind=Memcached" is present in bundle .* but not defined in CSV/);
      expect(details).toMatch(/example must have a provided API/); // alm-examples for a CRD the CSV no longer owns
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('OLM olm-operator installs the bundle', () => {
  const kc = kubeConfig();
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const olmLog: string[] = [];
  const operators: OperatorProcess[] = [];
  let olm: ChildProcess | undefined;
  let installNs: TestNamespace;
  let appNs: TestNamespace;
  const extraNamespaces: TestNamespace[] = [];

  const csvObj = (ns: string, name: string) =>
    custom.getNamespacedCustomObject({
      group: 'operators.coreos.com',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'clusterserviceversions',
      name,
    }) as Promise<Obj>;
  const createOrKeep = async (o: Obj): Promise<Obj> => {
    try {
      return (await objects.create(o as k8s.KubernetesObject)) as Obj;
    } catch (err: unknown) {
      if ((err as { code?: number }).code !== 409) throw err;
      return (await objects.read(o as never)) as Obj;
    }
  };
  /** Waits while olm-operator runs; a timeout shows OLM's view (CSV status) and its last log lines. */
  const olmWait = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 120_000) =>
    waitFor(what, probe, {
      timeoutMs,
      intervalMs: 500,
      check: () => {
        if (olm && olm.exitCode !== null)
          throw new Error(`olm-operator exited (${olm.exitCode}):\n${olmLog.slice(-40).join('\n')}`);
      },
      details: () => `olm-operator log (last 40 lines):\n${olmLog.slice(-40).join('\n')}`,
    });
  const waitPhase = (ns: string, name: string, phase: string) =>
    olmWait(`CSV ${ns}/${name} ${phase}`, async () => {
      const c = await csvObj(ns, name);
      if (c.status?.phase === phase) return c;
      throw new Error(`phase ${c.status?.phase}, reason ${c.status?.reason}: ${c.status?.message}`);
    });

  /**
   * What the catalog operator's InstallPlan does with an unpacked bundle: CRDs, the CSV, the
   * ServiceAccount and RBAC generated by OLM's resolver for it, the other bundle objects.
   */
  async function applyBundle(files: Map<string, string> | string, ns: string): Promise<Obj> {
    const docs: Obj[] =
      typeof files === 'string'
        ? readdirSync(join(files, 'manifests')).map((f) => parse(readFileSync(join(files, 'manifests', f), 'utf8')))
        : [...files].filter(([f]) => f.startsWith('manifests/')).map(([, t]) => parse(t));
    // CRDs through kubectl: client-node's typed models would drop schema keys such as `default`.
    kubectlApply(
      process.env.TEST_KUBECONFIG!,
      docs.filter((o) => o.kind === 'CustomResourceDefinition'),
      'olm-install-test',
    );
    const csv = docs.find((o) => o.kind === 'ClusterServiceVersion')!;
    const created = (await objects.create({ ...csv, metadata: { ...csv.metadata, namespace: ns } })) as Obj;
    const owner = {
      apiVersion: created.apiVersion,
      kind: created.kind,
      name: created.metadata.name,
      uid: created.metadata.uid,
      controller: false,
      blockOwnerDeletion: false,
    };
    const generated: Obj[] = JSON.parse(
      execFileSync(olmBin('olm-rbac'), { input: JSON.stringify(created), encoding: 'utf8' }),
    );
    for (const o of generated) {
      if (o.kind !== 'ServiceAccount') {
        await objects.create(o as k8s.KubernetesObject);
        continue;
      }
      // An upgrade finds the ServiceAccount of the previous CSV: the InstallPlan adds the new owner.
      const sa = (await createOrKeep(o)) as Obj;
      const refs: Obj[] = sa.metadata.ownerReferences ?? [];
      if (!refs.some((r) => r.uid === created.metadata.uid)) {
        await core.patchNamespacedServiceAccount(
          {
            namespace: ns,
            name: sa.metadata.name,
            body: { metadata: { ownerReferences: [...refs, ...o.metadata.ownerReferences] } },
          },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
      }
    }
    for (const o of docs.filter((x) => x.kind === 'Service')) {
      await createOrKeep({ ...o, metadata: { ...o.metadata, namespace: ns, ownerReferences: [owner] } });
    }
    // The aggregated viewer/editor ClusterRoles are dist/'s objects, already in this shared
    // cluster (installed by the operator tests); an InstallPlan would create them the same way.
    return created;
  }

  beforeAll(async () => {
    const olmPath = olmBin('olm');
    // OLM's CRDs, as OLM's own install manifests create them.
    const crdDir = join(OLM_BIN, 'crds');
    kubectlApply(
      process.env.TEST_KUBECONFIG!,
      readdirSync(crdDir)
        .filter((x) => x.endsWith('.yaml'))
        .map((f) => parse(readFileSync(join(crdDir, f), 'utf8'))),
      'olm-install-test',
    );
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    await waitFor('OLM CRDs established', async () => {
      const list = await ext.listCustomResourceDefinition();
      const olmCrds = list.items.filter((c) => c.spec.group === 'operators.coreos.com');
      return (
        olmCrds.length >= 8 &&
        olmCrds.every((c) => c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True'))
      );
    });
    // One CSV per install namespace: no copies of it into every namespace of the shared cluster.
    await createOrKeep({
      apiVersion: 'operators.coreos.com/v1',
      kind: 'OLMConfig',
      metadata: { name: 'cluster' },
      spec: { features: { disableCopiedCSVs: true } },
    });

    // No ClusterOperator status (that is OpenShift's); no CI variable: with CI set, olm-operator
    // wraps its client in a check meant for OLM's own e2e suite that panics on objects it did
    // not label itself.
    olm = spawn(olmPath, ['--writeStatusName=', '--writePackageServerStatusName=', '--interval=1m'], {
      env: { PATH: process.env.PATH, KUBECONFIG: process.env.TEST_KUBECONFIG },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const s of [olm.stdout!, olm.stderr!])
      s.setEncoding('utf8').on('data', (c: string) => olmLog.push(...c.split('\n').filter(Boolean)));

    installNs = await createTestNamespace('olm-install');
    appNs = await createTestNamespace('olm-app');
    // AllNamespaces: an OperatorGroup without targetNamespaces (the bundle supports only this mode).
    await objects.create({
      apiVersion: 'operators.coreos.com/v1',
      kind: 'OperatorGroup',
      metadata: { name: 'memcached', namespace: installNs.name },
      spec: {},
    } as never);
  });

  afterEach(() => dumpLogsOnFailure(operators, expect.getState()));

  afterAll(async () => {
    await stopAll(operators);
    if (olm && olm.exitCode === null) {
      olm.kill('SIGTERM');
      await new Promise((r) => olm!.once('exit', r));
    }
    await Promise.all([installNs?.delete(), appNs?.delete(), ...extraNamespaces.map((n) => n.delete())]);
  });

  it('the CSV reaches Succeeded: olm-operator accepts the RBAC OLM generates and creates the Deployment from dist/', async () => {
    const csv = await applyBundle(BUNDLE, installNs.name);
    const done = await waitPhase(installNs.name, csv.metadata.name, 'Succeeded');
    expect(done.status.reason).toBe('InstallSucceeded');
    expect(olm!.exitCode).toBeNull();

    const want = csv.spec.install.spec;
    const d = await apps.readNamespacedDeployment({ namespace: installNs.name, name: 'memcached-operator' });
    expect(d.metadata!.labels).toMatchObject({
      ...want.deployments[0].label,
      'olm.owner': csv.metadata.name,
      'olm.owner.kind': 'ClusterServiceVersion',
    });
    expect(d.spec!.selector).toEqual(want.deployments[0].spec.selector);
    const c = d.spec!.template.spec!.containers[0];
    const fromDist = synthesizedOperator();
    expect({ command: c.command, args: c.args, image: c.image }).toEqual({
      command: fromDist.command,
      args: fromDist.args,
      image: want.deployments[0].spec.template.spec.containers[0].image,
    });
    expect(d.spec!.template.spec!.serviceAccountName).toBe('memcached-operator');
    expect(d.status?.availableReplicas).toBe(1);

    await core.readNamespacedServiceAccount({ namespace: installNs.name, name: 'memcached-operator' });
    const sorted = (rules: Obj[]) =>
      rules.map((r) => JSON.stringify({ apiGroups: r.apiGroups, resources: r.resources, verbs: r.verbs })).sort();
    // clusterPermissions → a ClusterRole + ClusterRoleBinding to the ServiceAccount, labelled with their owner CSV (OLM's naming)
    const crbs = (
      await rbac.listClusterRoleBinding({
        labelSelector: `olm.owner=${csv.metadata.name},olm.owner.namespace=${installNs.name}`,
      })
    ).items;
    expect(crbs).toHaveLength(1);
    expect(crbs[0].subjects).toEqual([
      expect.objectContaining({ kind: 'ServiceAccount', name: 'memcached-operator', namespace: installNs.name }),
    ]);
    const cr = await rbac.readClusterRole({ name: crbs[0].roleRef.name });
    expect(sorted(cr.rules as Obj[])).toEqual(sorted(want.clusterPermissions[0].rules));
    // permissions → a Role + RoleBinding in the install namespace
    const rbs = (
      await rbac.listNamespacedRoleBinding({
        namespace: installNs.name,
        labelSelector: `olm.owner=${csv.metadata.name}`,
      })
    ).items;
    expect(rbs).toHaveLength(1);
    const role = await rbac.readNamespacedRole({ namespace: installNs.name, name: rbs[0].roleRef.name });
    expect(sorted(role.rules as Obj[])).toEqual(sorted(want.permissions[0].rules));
    // the bundle's Service, owned by the CSV
    const svc = await core.readNamespacedService({ namespace: installNs.name, name: 'memcached-operator-metrics' });
    expect(svc.metadata!.ownerReferences![0]).toMatchObject({ kind: 'ClusterServiceVersion', name: csv.metadata.name });
  });

  it('our operator, under the ServiceAccount and RBAC of the OLM install, reconciles the alm-examples object without a single 403', async () => {
    const csv = manifest(BUNDLE, (o) => o.kind === 'ClusterServiceVersion');
    const example = JSON.parse(csv.metadata.annotations['alm-examples'])[0];
    const sa = await sharedCluster().serviceAccountKubeconfig(installNs.name, 'memcached-operator', { create: false });
    // The Deployment watches all namespaces; in the shared test cluster the operator is kept to
    // this test's namespace (other suites run operators of their own). Its RBAC is unchanged.
    const op = startOperator({ kubeconfig: sa.path, podNamespace: installNs.name, watchNamespace: appNs.name });
    operators.push(op);
    await op.waitForLog('workers started', (l) => l.msg === 'caches synced, starting workers', 60_000);

    await objects.create({ ...example, metadata: { ...example.metadata, namespace: appNs.name } });
    const o = await waitFor(
      'alm-examples object Available',
      async () => {
        const x = (await custom.getNamespacedCustomObject({
          group: 'cache.example.com',
          version: 'v1alpha1',
          namespace: appNs.name,
          plural: 'memcacheds',
          name: example.metadata.name,
        })) as Obj;
        const avail = (x.status?.conditions ?? []).find((c: Obj) => c.type === 'Available');
        return avail?.status === 'True' && x.status.readyReplicas === example.spec.size ? x : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(o.status.nodes).toHaveLength(example.spec.size);
    const d = await apps.readNamespacedDeployment({ namespace: appNs.name, name: example.metadata.name });
    expect(d.spec!.replicas).toBe(example.spec.size);
    // Leader election used the Role OLM made from `permissions`.
    const lease = await kc.makeApiClient(k8s.CoordinationV1Api).listNamespacedLease({ namespace: installNs.name });
    expect(lease.items.map((l) => l.spec?.holderIdentity ?? '')).toEqual([expect.any(String)]);
    expect(op.text()).not.toMatch(/forbidden|\b403\b/i);
  });

  it('upgrades: a second CSV that replaces the first reaches Succeeded and the first goes away', async () => {
    const next = renderBundle(
      parseStackConfig({
        memcached: {
          operator: { image: 'ghcr.io/kube-tutorial-stack/memcached-operator:0.2.0' },
          olm: { replaces: 'memcached-operator.v0.1.0', skipRange: '>=0.0.1 <0.2.0' },
        },
      }),
    );
    const csv2 = await applyBundle(next, installNs.name);
    expect(csv2.metadata.name).toBe('memcached-operator.v0.2.0');
    await waitPhase(installNs.name, 'memcached-operator.v0.2.0', 'Succeeded');
    await olmWait('old CSV deleted', async () => {
      try {
        const old = await csvObj(installNs.name, 'memcached-operator.v0.1.0');
        throw new Error(`v0.1.0 still there: phase ${old.status?.phase}, ${old.status?.message}`);
      } catch (err) {
        if ((err as { code?: number }).code === 404) return true;
        throw err;
      }
    });
    const d = await apps.readNamespacedDeployment({ namespace: installNs.name, name: 'memcached-operator' });
    expect(d.spec!.template.spec!.containers[0].image).toBe('ghcr.io/kube-tutorial-stack/memcached-operator:0.2.0');
    expect(d.metadata!.labels!['olm.owner']).toBe('memcached-operator.v0.2.0');
    expect(olm!.exitCode).toBeNull();
  });

  it('refuses an OperatorGroup the install modes do not allow: one target namespace for an AllNamespaces bundle', async () => {
    const single = await createTestNamespace('olm-single');
    extraNamespaces.push(single);
    await objects.create({
      apiVersion: 'operators.coreos.com/v1',
      kind: 'OperatorGroup',
      metadata: { name: 'one', namespace: single.name },
      spec: { targetNamespaces: [appNs.name] },
    } as never);
    const csv = await applyBundle(BUNDLE, single.name);
    const failed = await waitPhase(single.name, csv.metadata.name, 'Failed');
    expect(failed.status.reason).toBe('UnsupportedOperatorGroup');
    expect(failed.status.message).toMatch(/SingleNamespace/);
    await expect(
      apps.readNamespacedDeployment({ namespace: single.name, name: 'memcached-operator' }),
    ).rejects.toMatchObject({ code: 404 });
  });
});
