import { memcachedSelector, renderMemcachedOperand, selectorString } from '../../../constructs/memcached-operand';
import { driftedFields, operandDrift } from '../../../operator/memcached/drift';
import { memcachedApiVersion, PORT_DEFAULT } from '../../../constructs/memcached-api';

const owner = { apiVersion: memcachedApiVersion(), name: 'memcached-sample', namespace: 'default', uid: 'uid-1' };
const render = (size = 3, containerPort = PORT_DEFAULT, name = owner.name) =>
  renderMemcachedOperand({
    owner: { ...owner, name },
    spec: { size, containerPort },
    image: 'memcached:1.6.39-alpine',
  });

describe('renderMemcachedOperand', () => {
  it('renders a Deployment and a Service named like the object, owned by it', () => {
    const { deployment, service } = render();
    for (const o of [deployment, service]) {
      expect(o.metadata).toMatchObject({ name: 'memcached-sample', namespace: 'default' });
      expect(o.metadata.ownerReferences).toEqual([
        {
          apiVersion: owner.apiVersion,
          kind: 'Memcached',
          name: 'memcached-sample',
          uid: 'uid-1',
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    expect(deployment.kind).toBe('Deployment');
    expect(service.kind).toBe('Service');
    expect(service.spec.clusterIP).toBe('None'); // headless: clients shard over the pod addresses
    expect(service.spec.publishNotReadyAddresses).toBeUndefined();
  });

  it('runs memcached as the tutorial does, on the requested port, with the pinned image', () => {
    const c = render(2, 12345).deployment.spec.template.spec.containers[0];
    expect(c.image).toBe('memcached:1.6.39-alpine');
    expect(c.command).toEqual(['memcached', '-m', '64', '-o', 'modern', '-v', '-p', '12345']);
    expect(c.ports).toEqual([{ name: 'memcached', containerPort: 12345, protocol: 'TCP' }]);
    expect(render(2, 12345).service.spec.ports[0]).toMatchObject({ port: 12345, targetPort: 'memcached' });
  });

  it('sets replicas from size, including zero', () => {
    expect(render(5).deployment.spec.replicas).toBe(5);
    expect(render(0).deployment.spec.replicas).toBe(0);
  });

  it('is Pod Security restricted with resources and probes', () => {
    const spec = render().deployment.spec.template.spec;
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    const c = spec.containers[0];
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      runAsNonRoot: true,
    });
    expect(c.resources.limits).toEqual({ cpu: '500m', memory: '128Mi' });
    expect(c.readinessProbe.tcpSocket.port).toBe('memcached');
    expect(c.livenessProbe).toBeDefined();
  });

  it('selects only its own pods: selectors differ per object and match the template', () => {
    const a = render(1, PORT_DEFAULT, 'a').deployment;
    const b = render(1, PORT_DEFAULT, 'b').deployment;
    expect(a.spec.selector.matchLabels).not.toEqual(b.spec.selector.matchLabels);
    expect(a.spec.template.metadata.labels).toMatchObject(a.spec.selector.matchLabels);
    expect(render(1, PORT_DEFAULT, 'a').service.spec.selector).toEqual(a.spec.selector.matchLabels);
    expect(a.spec.template.metadata.labels).toMatchObject({
      app: 'memcached',
      memcached_cr: 'a',
      'app.kubernetes.io/managed-by': 'memcached-operator',
    });
    expect(selectorString('a')).toBe('app.kubernetes.io/name=memcached,app.kubernetes.io/instance=a');
  });

  it('keeps label values valid for names longer than 63 characters', () => {
    const long = 'x'.repeat(100);
    const sel = memcachedSelector(long);
    expect(sel['app.kubernetes.io/instance'].length).toBeLessThanOrEqual(63);
    expect(memcachedSelector(long + 'y')['app.kubernetes.io/instance']).not.toBe(sel['app.kubernetes.io/instance']);
  });

  it('is the same every time (server-side apply sees no change)', () => {
    expect(render()).toEqual(render());
  });
});

describe('drift detection', () => {
  it('ignores fields the API server adds', () => {
    const { deployment } = render();
    const live = structuredClone(deployment);
    live.metadata.uid = 'x';
    live.spec.progressDeadlineSeconds = 600;
    live.spec.template.spec.containers[0].terminationMessagePath = '/dev/termination-log';
    live.status = { replicas: 3 };
    expect(operandDrift(deployment, live)).toEqual([]);
  });

  it('finds changed replicas, image and labels', () => {
    const { deployment } = render();
    const live = structuredClone(deployment);
    live.spec.replicas = 1;
    live.spec.template.spec.containers[0].image = 'memcached:evil';
    delete live.metadata.labels.app;
    expect(operandDrift(deployment, live)).toEqual([
      'metadata.labels.app',
      'spec.replicas',
      'spec.template.spec.containers[0].image',
    ]);
  });

  it('accepts other owner references beside its own, but not a missing one', () => {
    const { service } = render();
    const live = structuredClone(service);
    live.metadata.ownerReferences = [
      { apiVersion: 'v1', kind: 'Other', name: 'o', uid: 'other' },
      ...service.metadata.ownerReferences,
    ];
    expect(operandDrift(service, live)).toEqual([]);
    live.metadata.ownerReferences = [];
    expect(operandDrift(service, live)).toEqual(['metadata.ownerReferences']);
  });

  it('treats a list of a different length as drift', () => {
    expect(driftedFields({ a: [1, 2] }, { a: [1, 2, 3] })).toEqual(['a']);
    expect(driftedFields({ a: [1] }, { a: 'x' })).toEqual(['a']);
    expect(driftedFields(1, 2)).toEqual(['(root)']);
    expect(
      driftedFields(
        { spec: { c: [{ n: 'a', p: [{ x: 1 }] }, { n: 'b' }], r: 3, u: undefined } },
        {
          spec: {
            c: [
              { n: 'a', p: [{ x: 2, y: 0 }] },
              { n: 'c', extra: true },
            ],
            r: 3,
          },
        },
      ),
    ).toEqual(['spec.c[0].p[0].x', 'spec.c[1].n']);
  });
});
