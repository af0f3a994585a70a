// Configuration that is valid field by field but builds stacks that clash or silently do
// nothing: synth fails naming the fields, and the previous output stays as it was.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, synthesize } from '../../../main';
import { parseStackConfig } from '../../../constructs/config';
import { stackConflicts } from '../../../constructs/stack-checks';

/** The ConfigError message buildApp throws for `input`, or '' when it builds. */
function buildError(input: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'stacks-'));
  try {
    buildApp(parseStackConfig(input), dir);
    return '';
  } catch (err) {
    return (err as Error).message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('memcached.operator.watchNamespaces and the sample', () => {
  it('rejects a sample namespace the operator does not watch (the sample would never be reconciled)', () => {
    expect(() => parseStackConfig({ memcached: { operator: { watchNamespaces: ['team-a', 'team-b'] } } })).toThrow(
      'memcached.sample.namespace: "default" is not in memcached.operator.watchNamespaces (team-a, team-b), so the operator would never reconcile the sample',
    );
  });

  it('accepts the sample in a watched namespace, and an empty list (all namespaces)', () => {
    const c = parseStackConfig({
      memcached: { operator: { watchNamespaces: ['team-a', 'team-b'] }, sample: { namespace: 'team-b' } },
    });
    expect(c.memcached.sample.namespace).toBe('team-b');
    expect(
      parseStackConfig({ memcached: { sample: { namespace: 'anywhere' } } }).memcached.operator.watchNamespaces,
    ).toEqual([]);
  });

  it('reports it along with the other field errors', () => {
    expect(() => parseStackConfig({ memcached: { operator: { watchNamespaces: ['a'], replicas: -1 } } })).toThrow(
      /memcached\.operator\.replicas: must be 0 or more\n {2}- memcached\.sample\.namespace: "default" is not in/,
    );
  });
});

describe('stacks that clash in one namespace', () => {
  it('the default configuration has no clash', () => {
    expect(buildError({})).toBe('');
  });

  it("redis.pod.name = the Deployment's name puts the tutorial Pod behind the Deployment's Service", () => {
    const message = buildError({ redis: { pod: { name: 'redis-deployment' } } });
    expect(message).toContain('\n  - redis.pod.name, redis.deployment.name: in namespace "default", ');
    expect(message).toContain(
      'Service "redis-deployment" of redis-deployment.k8s.yaml selects the pods of Pod "redis-deployment" of redis-pod.k8s.yaml',
    );
    expect(message).toContain(
      'Deployment "redis-deployment" of redis-deployment.k8s.yaml selects the pods of Pod "redis-deployment" of redis-pod.k8s.yaml',
    );
  });

  it("redis.statefulset.name = the HA stack's name makes two files create the same StatefulSet and PDB", () => {
    const message = buildError({ redis: { statefulset: { name: 'redis-ha' } } });
    expect(message).toMatch(
      / {2}- redis\.statefulset\.name, redis\.ha\.name: redis-statefulset\.k8s\.yaml and redis-ha\.k8s\.yaml both create .*StatefulSet "redis-ha".* in namespace "default"/,
    );
    expect(message).toContain('PodDisruptionBudget "redis-ha"');
  });

  it('counts the Deployment and Service the operator will create for the sample', () => {
    const message = buildError({ memcached: { sample: { name: 'redis-deployment' } } });
    expect(message).toMatch(
      /redis\.deployment\.name, memcached\.sample\.name, redis\.namespace, memcached\.sample\.namespace: redis-deployment\.k8s\.yaml and the operator \(for the sample\) both create [^\n]*Deployment "redis-deployment", Service "redis-deployment"[^\n]* in namespace "default"/,
    );
  });

  it('names the namespace fields when stacks with fixed names meet in one namespace', () => {
    const message = buildError({
      redis: { namespace: 'memcached-operator-system', deployment: { name: 'memcached-operator' } },
    });
    expect(message).toMatch(
      /\n {2}- redis\.deployment\.name, redis\.namespace, memcached\.operator\.namespace: redis-deployment\.k8s\.yaml and memcached-operator\.k8s\.yaml both create [^\n]*Deployment "memcached-operator"[^\n]* in namespace "memcached-operator-system"/,
    );
  });

  it('the same names in different namespaces do not clash', () => {
    expect(buildError({ memcached: { sample: { name: 'redis-deployment', namespace: 'caches' } } })).toBe('');
  });

  it('synth fails with the message and leaves the previous output untouched', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stacks-out-'));
    try {
      const out = join(dir, 'dist');
      synthesize(parseStackConfig({}), out);
      const before = readdirSync(out).map((f) => [f, readFileSync(join(out, f), 'utf8')]);
      expect(() => synthesize(parseStackConfig({ redis: { statefulset: { name: 'redis-ha' } } }), out)).toThrow(
        /redis\.statefulset\.name, redis\.ha\.name/,
      );
      expect(readdirSync(out).map((f) => [f, readFileSync(join(out, f), 'utf8')])).toEqual(before);
      expect(readdirSync(dir)).toEqual(['dist']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('stackConflicts', () => {
  const svc = (name: string, selector: Record<string, string>, namespace = 'ns') => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector },
  });
  const sts = (name: string, labels: Record<string, string>, namespace = 'ns') => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace },
    spec: { selector: { matchLabels: labels }, template: { metadata: { labels } } },
  });

  it('compares a pod-name selector on its other labels', () => {
    const a = {
      label: 'a',
      nameField: 'x.name',
      namespaceField: 'x.namespace',
      objects: [svc('a-master', { app: 'b', 'statefulset.kubernetes.io/pod-name': 'b-0' })],
    };
    const b = {
      label: 'b',
      nameField: 'y.name',
      namespaceField: 'x.namespace',
      objects: [sts('b', { app: 'b', tier: 'db' })],
    };
    expect(stackConflicts([a, b])).toEqual([
      'x.name, y.name: in namespace "ns", Service "a-master" of a selects the pods of StatefulSet "b" of b; give the stacks different names',
    ]);
  });

  it('reports a cluster-scoped object created twice, and ignores same-named objects of other kinds', () => {
    const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r' } };
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'r', namespace: 'ns' } };
    expect(
      stackConflicts([
        { label: 'a', namespaceField: 'a.namespace', objects: [role] },
        { label: 'b', nameField: 'b.name', namespaceField: 'b.namespace', objects: [role, cm] },
      ]),
    ).toEqual([
      'b.name, a.namespace, b.namespace: a and b both create ClusterRole "r" (cluster-scoped); give the stacks different names',
    ]);
  });

  it("counts a NetworkPolicy that isolates another stack's pods", () => {
    const policy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'a', namespace: 'ns' },
      spec: { podSelector: { matchLabels: { app: 'b' } } },
    };
    const a = { label: 'a', nameField: 'a.name', namespaceField: 'n', objects: [policy] };
    const b = { label: 'b', nameField: 'b.name', namespaceField: 'n', objects: [sts('b', { app: 'b', tier: 'db' })] };
    expect(stackConflicts([a, b])).toEqual([
      'a.name, b.name: in namespace "ns", NetworkPolicy "a" of a selects the pods of StatefulSet "b" of b; give the stacks different names',
    ]);
  });

  it("leaves a stack's own Services and pods alone, but not another stack's", () => {
    const own = {
      label: 'a',
      nameField: 'a.name',
      namespaceField: 'n',
      objects: [svc('a', { app: 'a' }), sts('a', { app: 'a' })],
    };
    expect(stackConflicts([own])).toEqual([]);
    const other = { label: 'b', nameField: 'b.name', namespaceField: 'n', objects: [svc('b', { app: 'a' })] };
    expect(stackConflicts([own, other])).toEqual([
      'a.name, b.name: in namespace "ns", Service "b" of b selects the pods of StatefulSet "a" of a; give the stacks different names',
    ]);
  });
});
