// bench/compare/go-operator.ts: the Go sample's manifests as `make deploy` names them, and when
// its status says a Memcached is done. The YAML here is written for the test (the shapes of a
// CRD, a ServiceAccount, roles and bindings), not taken from the sample.
import { describe, expect, it } from '@jest/globals';
import { GO_SA, goCrReady, goManifests } from '../../../../bench/compare/go-operator';
import { oursCrReady } from '../../../../bench/operator/subject';

const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.org
spec:
  group: example.org
`;
const rbac = [
  `apiVersion: v1
kind: ServiceAccount
metadata:
  name: controller-manager
  namespace: system
`,
  `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: manager-role
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: manager-rolebinding
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: manager-role }
subjects:
  - { kind: ServiceAccount, name: controller-manager, namespace: system }
  - { kind: User, name: alice }
`,
  `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: leader-election-role
rules: []
`,
];

describe('goManifests', () => {
  const objects = goManifests(crd, rbac, 'ops', 'p-');
  const byKind = (k: string) => objects.filter((o) => o.kind === k);

  it('adds the Namespace and keeps the CRD as it is', () => {
    expect(objects[0]).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ops' } });
    expect(byKind('CustomResourceDefinition')).toEqual([
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.example.org' },
        spec: { group: 'example.org' },
      },
    ]);
  });

  it('prefixes names and moves namespaced objects into the namespace, cluster-scoped ones into none', () => {
    expect(byKind('ServiceAccount')[0].metadata).toEqual({ name: 'p-controller-manager', namespace: 'ops' });
    expect(byKind('Role')[0].metadata).toEqual({ name: 'p-leader-election-role', namespace: 'ops' });
    expect(byKind('ClusterRole')[0].metadata).toEqual({ name: 'p-manager-role' });
  });

  it('points bindings at the renamed role and ServiceAccount, leaving other subjects alone', () => {
    const b = byKind('ClusterRoleBinding')[0];
    expect(b.metadata).toEqual({ name: 'p-manager-rolebinding' });
    expect(b.roleRef.name).toBe('p-manager-role');
    expect(b.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'p-controller-manager', namespace: 'ops' },
      { kind: 'User', name: 'alice' },
    ]);
  });

  it('names the ServiceAccount the benchmark runs the Go sample as', () => {
    expect(GO_SA).toBe('memcached-operator-controller-manager');
    expect(goManifests(crd, rbac).find((o) => o.kind === 'ServiceAccount').metadata).toEqual({
      name: GO_SA,
      namespace: 'memcached-operator-system',
    });
  });
});

describe('goCrReady', () => {
  const cr = (size: number, status: string, message: string) => ({
    spec: { size },
    status: { conditions: [{ type: 'Available', status, message }] },
  });

  it('is done when Available is True for the size asked for', () => {
    expect(
      goCrReady(
        'workload',
        cr(3, 'True', 'Deployment for custom resource (mc) with 3 replicas created successfully'),
        3,
      ),
    ).toBe(true);
  });

  it('is not done for the previous size, another spec, or Available not True', () => {
    expect(
      goCrReady(
        'workload',
        cr(3, 'True', 'Deployment for custom resource (mc) with 2 replicas created successfully'),
        3,
      ),
    ).toBe(false);
    expect(goCrReady('workload', cr(2, 'True', 'with 3 replicas'), 3)).toBe(false);
    expect(goCrReady('workload', cr(3, 'Unknown', 'with 3 replicas'), 3)).toBe(false);
    expect(goCrReady('workload', { spec: { size: 3 } }, 3)).toBe(false);
    expect(goCrReady('workload', cr(1, 'True', 'with 13 replicas'), 1)).toBe(false);
  });
});

describe('oursCrReady', () => {
  const status = {
    observedGeneration: 2,
    replicas: 2,
    readyReplicas: 2,
    nodes: ['a', 'b'],
    conditions: [{ type: 'Available', status: 'True' }],
  };
  it('needs the generation observed, Available and every pod ready (workload tier)', () => {
    expect(oursCrReady('workload', { metadata: { generation: 2 }, spec: { size: 2 }, status }, 2)).toBe(true);
    expect(oursCrReady('workload', { metadata: { generation: 3 }, spec: { size: 2 }, status }, 2)).toBe(false);
    expect(
      oursCrReady(
        'workload',
        { metadata: { generation: 2 }, spec: { size: 2 }, status: { ...status, readyReplicas: 1 } },
        2,
      ),
    ).toBe(false);
  });
});
