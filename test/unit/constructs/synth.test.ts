// Every chart as main.ts composes it: snapshots, determinism, the committed dist/, Pod
// Security, selectors, the Memcached CRD and RBAC, and the configuration rules.
import { App } from 'cdk8s';
import { outdatedFiles, synthTargets } from '../../../main';
import { parseStackConfig } from '../../../constructs/config';
import { operatorRules, leaderElectionRules } from '../../../constructs/memcached-api';
import { RedisDeploymentChart } from '../../../constructs/redis-deployment';
import { allObjects, objectsOf, podSpecOf, synthFiles } from './helpers';

const files = synthFiles();
const objects = Object.values(files).flatMap(objectsOf);
const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);

describe('charts', () => {
  it('writes one file per chart', () => {
    expect(Object.keys(files)).toEqual(
      expect.arrayContaining([
        'memcached-operator.k8s.yaml',
        'memcached-sample.k8s.yaml',
        'redis-deployment.k8s.yaml',
        'redis-pod.k8s.yaml',
        'redis-statefulset.k8s.yaml',
      ]),
    );
  });

  it.each(Object.keys(files))('%s matches its snapshot', (file) => {
    expect(files[file]).toMatchSnapshot();
  });

  it('is deterministic: two synths are byte-identical', () => {
    expect(synthFiles()).toEqual(files);
  });

  // The same targets and configuration files as `npm run synth` (stack.yaml when present, and
  // every envs/<env>/stack.yaml), compared the same way `.ci/run` does after synthesizing.
  it('the committed dist/ and envs/<env>/dist/ are what npm run synth writes from their configuration', () => {
    // The shipped per-environment example is part of the list.
    expect(synthTargets({}).map((t) => t.outdir)).toEqual(['dist', 'envs/prod/dist', 'envs/staging/dist']);
    expect(outdatedFiles()).toEqual([]);
  });

  it('puts a namespace on every namespaced object and on no cluster-scoped one', () => {
    const clusterScoped = [
      'Namespace',
      'CustomResourceDefinition',
      'ClusterRole',
      'ClusterRoleBinding',
      'PersistentVolume',
      'StorageClass',
      'PriorityClass',
    ];
    for (const o of objects) {
      if (clusterScoped.includes(o.kind))
        expect([o.kind, o.metadata.name, o.metadata.namespace]).toEqual([o.kind, o.metadata.name, undefined]);
      else expect(o.metadata.namespace).toMatch(/^[a-z0-9-]+$/);
    }
  });

  it('contains no timestamps', () => {
    for (const text of Object.values(files)) expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
  });
});

describe('Pod Security "restricted" on every pod template', () => {
  const pods = objects.map((o) => [`${o.kind}/${o.metadata.name}`, podSpecOf(o)] as const).filter(([, s]) => s);

  it('finds the workloads', () => {
    expect(pods.map(([n]) => n)).toEqual(
      expect.arrayContaining([
        'Pod/redis',
        'Deployment/redis-deployment',
        'StatefulSet/redis-sfs',
        'Deployment/memcached-operator',
      ]),
    );
  });

  it.each(pods)('%s', (_name, spec) => {
    const allowedVolumes = [
      'configMap',
      'csi',
      'downwardAPI',
      'emptyDir',
      'ephemeral',
      'persistentVolumeClaim',
      'projected',
      'secret',
    ];
    for (const v of spec!.volumes ?? []) {
      expect(
        Object.keys(v)
          .filter((k) => k !== 'name')
          .every((k) => allowedVolumes.includes(k)),
      ).toBe(true);
    }
    expect(spec!.hostNetwork ?? false).toBe(false);
    expect(spec!.securityContext?.runAsNonRoot).toBe(true);
    for (const c of [...(spec!.initContainers ?? []), ...spec!.containers]) {
      const sc = c.securityContext;
      expect(sc.allowPrivilegeEscalation).toBe(false);
      expect(sc.privileged ?? false).toBe(false);
      expect(sc.runAsNonRoot ?? spec!.securityContext.runAsNonRoot).toBe(true);
      const uid = sc.runAsUser ?? spec!.securityContext.runAsUser;
      expect(typeof uid).toBe('number');
      expect(uid).toBeGreaterThan(0);
      expect(sc.capabilities.drop).toContain('ALL');
      expect(sc.capabilities.add ?? []).toEqual([]);
      expect(['RuntimeDefault', 'Localhost']).toContain(
        sc.seccompProfile?.type ?? spec!.securityContext.seccompProfile?.type,
      );
      expect(sc.readOnlyRootFilesystem).toBe(true);
    }
  });

  it.each(pods)('%s has pinned images, probes and demo-sized resources', (_name, spec) => {
    for (const c of spec!.containers) {
      expect(c.image).toMatch(/^[^\s]+(:[A-Za-z0-9_][A-Za-z0-9_.-]*|@sha256:[a-f0-9]{64})$/);
      expect(c.image).not.toMatch(/:latest$/);
      expect(c.livenessProbe).toBeDefined();
      expect(c.readinessProbe).toBeDefined();
      expect(JSON.stringify(c.livenessProbe)).not.toEqual(JSON.stringify(c.readinessProbe));
      expect(c.resources.requests.cpu).not.toBe('1000m');
      expect(c.resources.limits.memory).not.toBe('2048Mi');
    }
  });
});

describe('selectors', () => {
  it('every workload selector matches its own pod template', () => {
    for (const o of objects.filter((x) => x.spec?.selector?.matchLabels && x.spec?.template)) {
      expect(o.spec.template.metadata.labels).toMatchObject(o.spec.selector.matchLabels);
    }
  });

  it('every Service selects the pods of a workload in its file', () => {
    for (const text of Object.values(files)) {
      const objs = objectsOf(text);
      const templates = objs
        .map((o) => (o.kind === 'Pod' ? o.metadata.labels : o.spec?.template?.metadata?.labels))
        .filter(Boolean);
      for (const svc of objs.filter((o) => o.kind === 'Service')) {
        const sel = svc.spec.selector as Record<string, string>;
        const plain = Object.fromEntries(
          Object.entries(sel).filter(([k]) => k !== 'statefulset.kubernetes.io/pod-name'),
        );
        expect(templates.some((l) => Object.entries(plain).every(([k, v]) => l[k] === v))).toBe(true);
      }
    }
  });

  it('do not depend on construct ids (a renamed construct keeps its immutable selector)', () => {
    const config = parseStackConfig({});
    const props = {
      config: config.redis.deployment,
      redis: { image: config.redis.image, resources: config.redis.resources },
    };
    const a = new RedisDeploymentChart(new App(), 'redis-deployment', props).toJson();
    const b = new RedisDeploymentChart(new App(), 'renamed-chart', props).toJson();
    const sel = (objs: any[]) => objs.find((o) => o.kind === 'Deployment').spec.selector;
    expect(sel(b)).toEqual(sel(a));
    expect(JSON.stringify(sel(a))).not.toContain('cdk8s.io');
  });
});

describe('Redis StatefulSet', () => {
  const sts = find('StatefulSet', 'redis-sfs')!;
  const headless = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'redis-sfs')!;

  it('has a headless Service that publishes not-ready addresses', () => {
    expect(headless.spec.clusterIP).toBe('None');
    expect(headless.spec.publishNotReadyAddresses).toBe(true);
    expect(sts.spec.serviceName).toBe('redis-sfs');
    expect(sts.spec.replicas).toBe(2);
  });

  it('replicas replicate from pod 0 by its stable DNS name', () => {
    const env = sts.spec.template.spec.containers[0].env;
    expect(env).toContainEqual({
      name: 'MASTER_HOST',
      value: 'redis-sfs-0.redis-sfs.$(POD_NAMESPACE).svc.cluster.local',
    });
    expect(env).toContainEqual({ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
    const script = sts.spec.template.spec.containers[0].command.join(' ');
    expect(script).toContain('--replicaof "$MASTER_HOST" 6379');
  });

  it('keeps data on one PVC per pod at /data, with a real quantity', () => {
    const vct = sts.spec.volumeClaimTemplates[0];
    expect(vct.metadata.name).toBe('data');
    expect(vct.spec.resources.requests.storage).toBe('1Gi');
    expect(sts.spec.template.spec.containers[0].volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
  });

  it('offers a write endpoint on pod 0 and a read endpoint on every pod, a PDB and anti-affinity', () => {
    expect(find('Service', 'redis-sfs-master')!.spec.selector['statefulset.kubernetes.io/pod-name']).toBe(
      'redis-sfs-0',
    );
    expect(find('Service', 'redis-sfs-read')).toBeDefined();
    expect(find('PodDisruptionBudget', 'redis-sfs')!.spec.maxUnavailable).toBe(1);
    expect(
      sts.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution,
    ).toHaveLength(1);
  });

  it('uses the configured cluster domain, storage size and class', () => {
    const objs = allObjects(
      parseStackConfig({
        clusterDomain: 'k8s.example',
        redis: { statefulset: { replicas: 3, storage: { size: '5Gi', className: 'fast' } } },
      }),
    );
    const s = objs.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'redis-sfs')!;
    expect(s.spec.replicas).toBe(3);
    expect(s.spec.template.spec.containers[0].env).toContainEqual({
      name: 'MASTER_HOST',
      value: 'redis-sfs-0.redis-sfs.$(POD_NAMESPACE).svc.k8s.example',
    });
    expect(s.spec.volumeClaimTemplates[0].spec).toMatchObject({
      storageClassName: 'fast',
      resources: { requests: { storage: '5Gi' } },
    });
  });
});

describe('Redis probes check the reply, not the exit code', () => {
  it.each([find('Pod', 'redis')!, find('Deployment', 'redis-deployment')!])('$kind', (o) => {
    const c = podSpecOf(o)!.containers[0];
    expect(c.readinessProbe.exec.command.join(' ')).toContain('= PONG');
    expect(c.ports).toContainEqual({ containerPort: 6379, name: 'redis' });
    expect(c.volumeMounts).toContainEqual({ mountPath: '/data', name: 'data' });
  });
});

describe('Memcached CRD', () => {
  const crd = find('CustomResourceDefinition', 'memcacheds.cache.example.com')!;
  const version = crd?.spec.versions[0];
  const spec = version?.schema.openAPIV3Schema.properties.spec;

  it('is namespaced v1alpha1 with a short name', () => {
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({ kind: 'Memcached', plural: 'memcacheds', shortNames: ['mc'] });
    expect(version.name).toBe('v1alpha1');
  });

  it('bounds and defaults size and containerPort', () => {
    expect(spec.properties.size).toMatchObject({ type: 'integer', minimum: 0, maximum: 5, default: 1 });
    expect(spec.properties.containerPort).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 65535,
      default: 11211,
    });
  });

  it('has status and scale subresources and printer columns', () => {
    expect(version.subresources.status).toEqual({});
    expect(version.subresources.scale).toEqual({
      specReplicasPath: '.spec.size',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.status.selector',
    });
    expect(version.additionalPrinterColumns.map((c: any) => c.name)).toEqual(['Size', 'Ready', 'Available', 'Age']);
  });

  it('describes every field (kubectl explain)', () => {
    const missing: string[] = [];
    const walk = (s: any, path: string) => {
      if (path !== '.metadata' && !s.description && path) missing.push(path);
      for (const [k, v] of Object.entries<any>(s.properties ?? {})) walk(v, `${path}.${k}`);
      if (s.items) walk(s.items, `${path}[]`);
    };
    walk(version.schema.openAPIV3Schema, '');
    expect(missing).toEqual([]);
  });

  it('keys conditions by type', () => {
    const conditions = version.schema.openAPIV3Schema.properties.status.properties.conditions;
    expect(conditions['x-kubernetes-list-type']).toBe('map');
    expect(conditions['x-kubernetes-list-map-keys']).toEqual(['type']);
  });

  it('follows the configured group domain', () => {
    const objs = allObjects(parseStackConfig({ memcached: { operator: { groupDomain: 'acme.io' } } }));
    expect(objs.find((o) => o.kind === 'CustomResourceDefinition')!.metadata.name).toBe('memcacheds.cache.acme.io');
    expect(objs.find((o) => o.kind === 'Memcached')!.apiVersion).toBe('cache.acme.io/v1alpha1');
  });
});

describe('operator RBAC and Deployment', () => {
  const rbac = objects.filter((o) => ['Role', 'ClusterRole'].includes(o.kind));

  it('has no wildcards', () => {
    for (const r of rbac)
      for (const rule of r.rules)
        for (const f of ['apiGroups', 'resources', 'verbs']) expect(rule[f]).not.toContain('*');
  });

  it('grants the operator exactly the shared declaration', () => {
    const strip = (rules: any[]) =>
      rules.map((r) => ({ apiGroups: r.apiGroups, resources: r.resources, verbs: r.verbs }));
    expect(strip(find('ClusterRole', 'memcached-operator-manager')!.rules)).toEqual(strip(operatorRules()));
    expect(strip(find('Role', 'memcached-operator-leader-election')!.rules)).toEqual(strip(leaderElectionRules()));
  });

  it('aggregates viewer/editor roles into view/edit', () => {
    expect(
      find('ClusterRole', 'memcached-viewer')!.metadata.labels['rbac.authorization.k8s.io/aggregate-to-view'],
    ).toBe('true');
    expect(
      find('ClusterRole', 'memcached-editor')!.metadata.labels['rbac.authorization.k8s.io/aggregate-to-edit'],
    ).toBe('true');
  });

  it('runs the operator with conventional flags, env and probes', () => {
    const d = find('Deployment', 'memcached-operator')!;
    expect(d.metadata.namespace).toBe('memcached-operator-system');
    const c = d.spec.template.spec.containers[0];
    expect(c.args).toEqual(
      expect.arrayContaining(['--leader-elect', '--health-probe-bind-address=:8081', '--metrics-bind-address=:8080']),
    );
    expect(c.env.find((e: any) => e.name === 'MEMCACHED_IMAGE').value).toMatch(/^memcached:\d/);
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(d.spec.template.spec.serviceAccountName).toBe('memcached-operator');
    expect(find('Service', 'memcached-operator-metrics')!.spec.ports[0].port).toBe(8080);
  });

  it('sizes the V8 heap from the memory limit', () => {
    const command = (objs: any[]) =>
      objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'memcached-operator').spec.template.spec
        .containers[0].command;
    expect(command(objects)).toEqual([
      'node',
      '--max-old-space-size=128',
      '--max-semi-space-size=4',
      '--max-opt=2',
      'build/operator.mjs',
    ]);
    const big = allObjects(
      parseStackConfig({
        memcached: {
          operator: { resources: { requests: { cpu: '100m', memory: '512Mi' }, limits: { cpu: '1', memory: '2Gi' } } },
        },
      }),
    );
    expect(command(big)).toEqual(expect.arrayContaining(['--max-old-space-size=1024', '--max-semi-space-size=16']));
    const small = allObjects(
      parseStackConfig({
        memcached: {
          operator: {
            resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '100m', memory: '48Mi' } },
          },
        },
      }),
    );
    expect(command(small)).toEqual(expect.arrayContaining(['--max-old-space-size=32', '--max-semi-space-size=1']));
  });

  it('sets WATCH_NAMESPACE only when configured', () => {
    const env = (objs: any[]) =>
      objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'memcached-operator').spec.template.spec
        .containers[0].env;
    expect(env(objects).find((e: any) => e.name === 'WATCH_NAMESPACE')).toBeUndefined();
    const objs = allObjects(
      parseStackConfig({ memcached: { operator: { watchNamespaces: ['a', 'b'] }, sample: { namespace: 'b' } } }),
    );
    expect(env(objs)).toContainEqual({ name: 'WATCH_NAMESPACE', value: 'a,b' });
  });

  it('ships the sample CR of size 3 in its own file', () => {
    const sample = objectsOf(files['memcached-sample.k8s.yaml']);
    expect(sample).toHaveLength(1);
    expect(sample[0]).toMatchObject({ kind: 'Memcached', metadata: { name: 'memcached-sample' }, spec: { size: 3 } });
  });
});

describe('invalid configuration', () => {
  const cases: [string, unknown, RegExp][] = [
    [
      'negative replicas',
      { redis: { deployment: { replicas: -1 } } },
      /redis\.deployment\.replicas: must be 0 or more/,
    ],
    [
      'fractional replicas',
      { redis: { statefulset: { replicas: 1.5 } } },
      /redis\.statefulset\.replicas: must be a whole number/,
    ],
    [
      'a name that is not DNS-1123',
      { redis: { statefulset: { name: 'Redis_SFS' } } },
      /redis\.statefulset\.name: must be a DNS-1123 label/,
    ],
    ['an empty image', { redis: { image: '' } }, /redis\.image: must not be empty/],
    [
      'an untagged image',
      { memcached: { operator: { memcachedImage: 'memcached' } } },
      /memcached\.operator\.memcachedImage: must be pinned/,
    ],
    ['the latest tag', { redis: { image: 'redis:latest' } }, /redis\.image: must not use the tag 'latest'/],
    [
      'storage that is not a quantity',
      { redis: { statefulset: { storage: { size: 'lots' } } } },
      /redis\.statefulset\.storage\.size: must be a Kubernetes quantity/,
    ],
    [
      'zero storage',
      { redis: { statefulset: { storage: { size: '0Gi' } } } },
      /redis\.statefulset\.storage\.size: must be greater than zero/,
    ],
    ['an unknown key', { redis: { replicaz: 3 } }, /redis\.replicaz: unknown key/],
    ['an unknown top-level key', { extra: true }, /extra: unknown key/],
    [
      'a bad group domain',
      { memcached: { operator: { groupDomain: 'Example..com' } } },
      /memcached\.operator\.groupDomain: must be a DNS-1123 subdomain/,
    ],
    ['a bad cluster domain', { clusterDomain: '-x' }, /clusterDomain: must be a DNS-1123 subdomain/],
    [
      'a bad namespace',
      { memcached: { operator: { namespace: 'UPPER' } } },
      /memcached\.operator\.namespace: must be a DNS-1123 label/,
    ],
    [
      'a sample size above the CRD maximum',
      { memcached: { sample: { size: 9 } } },
      /memcached\.sample\.size: must be at most 5/,
    ],
    [
      'a string where a number belongs',
      { redis: { deployment: { replicas: 'two' } } },
      /redis\.deployment\.replicas: must be number/,
    ],
    [
      'requests above limits',
      { redis: { resources: { requests: { cpu: '2', memory: '64Mi' }, limits: { cpu: '1', memory: '64Mi' } } } },
      /redis\.resources: requests\.cpu must not exceed limits\.cpu/,
    ],
  ];

  it.each(cases)('rejects %s', (_name, input, message) => {
    expect(() => parseStackConfig(input)).toThrow(message);
  });

  it('an empty configuration is valid (every field has a default)', () => {
    expect(parseStackConfig({}).redis.statefulset.replicas).toBe(2);
    expect(parseStackConfig(null).memcached.sample.size).toBe(3);
  });
});
