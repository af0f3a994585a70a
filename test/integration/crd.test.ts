// The Memcached CRD from dist/memcached-operator.k8s.yaml on the shared control plane's real
// kube-apiserver, driven with kubectl as a user would: structural-schema defaults, the
// validation messages users see, unknown-field handling, the scale and status subresources,
// printer columns, the short name and `kubectl explain`. No operator watches this file's
// namespace, so nothing else writes the objects here.
import * as k8s from '@kubernetes/client-node';
import { createTestNamespace, kubeConfig, type TestNamespace } from '../support/shared';
import { waitFor } from '../support/wait';
import { installOperatorPrerequisites, kubectl, type KubectlResult } from '../../cluster/operator-manifests';
import { loadDist } from '../support/dist';
import { MEMCACHED_VERSION, memcachedGroup, PORT_DEFAULT } from '../../constructs/memcached-api';

const KUBECONFIG = process.env.TEST_KUBECONFIG!;
const GROUP = memcachedGroup();
const VERSION = MEMCACHED_VERSION;
const kc = kubeConfig();
const custom = kc.makeApiClient(k8s.CustomObjectsApi);

const crd = loadDist('memcached-operator').find((o) => o?.kind === 'CustomResourceDefinition')!;
const schema = crd.spec.versions[0].schema.openAPIV3Schema;

let ns: TestNamespace;
const k = (...args: string[]): Promise<KubectlResult> => kubectl(KUBECONFIG, ['-n', ns.name, ...args]);
const manifest = (name: string, spec?: object) =>
  JSON.stringify({
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'Memcached',
    metadata: { name },
    ...(spec === undefined ? {} : { spec }),
  });
/** `kubectl create -f -` (a POST, like most clients do). */
const create = (name: string, spec?: object, ...flags: string[]) =>
  kubectl(KUBECONFIG, ['-n', ns.name, 'create', ...flags, '-o', 'json', '-f', '-'], manifest(name, spec));
const get = async (name: string): Promise<any> => {
  const r = await k('get', 'memcached', name, '-o', 'json');
  if (r.code !== 0) throw new Error(`kubectl get memcached ${name}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};
const exists = async (name: string) => {
  const r = await k('get', 'memcached', name, '--ignore-not-found', '-o', 'name');
  return r.stdout.trim() !== '';
};
const ok = (r: KubectlResult) => {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return r;
};

beforeAll(async () => {
  // Namespace, CRD and RBAC from dist/ (kubectl apply --server-side; idempotent, shared with
  // other files; never deleted here), then a namespace of this file's own.
  await installOperatorPrerequisites(KUBECONFIG);
  ns = await createTestNamespace('crd');
}, 120_000);

afterAll(async () => {
  await ns?.delete();
});

describe('Memcached CRD on kube-apiserver', () => {
  it('is the CRD from dist/ (established, namespaced, short name mc, scale and status subresources)', async () => {
    const live = await kc
      .makeApiClient(k8s.ApiextensionsV1Api)
      .readCustomResourceDefinition({ name: crd.metadata.name });
    expect(live.spec.scope).toBe('Namespaced');
    expect(live.spec.names.shortNames).toEqual(['mc']);
    expect(live.spec.versions[0].subresources).toEqual({
      status: {},
      scale: {
        specReplicasPath: '.spec.size',
        statusReplicasPath: '.status.replicas',
        labelSelectorPath: '.status.selector',
      },
    });
    expect(live.status?.acceptedNames?.shortNames).toEqual(['mc']);
  });

  describe('defaults', () => {
    it('an object without spec gets spec {size: 1, containerPort: 11211}', async () => {
      const r = ok(await create('no-spec'));
      expect(JSON.parse(r.stdout).spec).toEqual({ size: 1, containerPort: PORT_DEFAULT });
      expect((await get('no-spec')).spec).toEqual({ size: 1, containerPort: PORT_DEFAULT });
    });

    it('a spec without size gets size 1 and keeps what it sets', async () => {
      const r = ok(await create('no-size', { containerPort: 12345 }));
      expect(JSON.parse(r.stdout).spec).toEqual({ size: 1, containerPort: 12345 });
      const r2 = ok(await create('only-size', { size: 4 }));
      expect(JSON.parse(r2.stdout).spec).toEqual({ size: 4, containerPort: PORT_DEFAULT });
    });

    it('size 0 is kept (a default fills only what is missing), and so are the bounds 5 and 65535', async () => {
      expect(JSON.parse(ok(await create('zero', { size: 0, containerPort: 1 })).stdout).spec).toEqual({
        size: 0,
        containerPort: 1,
      });
      expect(JSON.parse(ok(await create('max', { size: 5, containerPort: 65535 })).stdout).spec).toEqual({
        size: 5,
        containerPort: 65535,
      });
    });

    it('defaults apply to server-side apply as well', async () => {
      ok(
        await kubectl(
          KUBECONFIG,
          ['-n', ns.name, 'apply', '--server-side', '--field-manager=crd-test', '-f', '-'],
          manifest('applied', {}),
        ),
      );
      expect((await get('applied')).spec).toEqual({ size: 1, containerPort: PORT_DEFAULT });
    });
  });

  describe("validation: rejected with the schema's message, nothing stored", () => {
    const cases: [string, object, RegExp[]][] = [
      [
        'negative size',
        { size: -1 },
        [/spec\.size: Invalid value: -1: spec\.size in body should be greater than or equal to 0/],
      ],
      [
        'size above 5',
        { size: 6 },
        [/spec\.size: Invalid value: 6: spec\.size in body should be less than or equal to 5/],
      ],
      [
        'non-integer size 1.5',
        { size: 1.5 },
        [
          /spec\.size in body must be of type int32: "float64"/,
          /Checked value must be of type integer with format int32 in spec\.size/,
        ],
      ],
      [
        'string size "3"',
        { size: '3' },
        [/spec\.size: Invalid value: "string": spec\.size in body must be of type integer: "string"/],
      ],
      [
        'containerPort 0',
        { containerPort: 0 },
        [/spec\.containerPort: Invalid value: 0: spec\.containerPort in body should be greater than or equal to 1/],
      ],
      [
        'containerPort 70000',
        { containerPort: 70000 },
        [
          /spec\.containerPort: Invalid value: 70000: spec\.containerPort in body should be less than or equal to 65535/,
        ],
      ],
      [
        'string containerPort',
        { containerPort: '80' },
        [/spec\.containerPort in body must be of type integer: "string"/],
      ],
    ];
    it.each(cases)('%s', async (_what, spec, messages) => {
      const name = `bad-${Math.random().toString(36).slice(2, 8)}`;
      const r = await create(name, spec);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`The Memcached "${name}" is invalid`);
      for (const m of messages) expect(r.stderr).toMatch(m);
      expect(await exists(name)).toBe(false);
    });

    it('the messages name the bounds the schema in dist/ declares', () => {
      expect(schema.properties.spec.properties.size).toMatchObject({
        type: 'integer',
        format: 'int32',
        minimum: 0,
        maximum: 5,
        default: 1,
      });
      expect(schema.properties.spec.properties.containerPort).toMatchObject({
        type: 'integer',
        format: 'int32',
        minimum: 1,
        maximum: 65535,
        default: PORT_DEFAULT,
      });
    });

    it('status is validated too (through the status subresource)', async () => {
      ok(await create('status-check', { size: 1 }));
      const r = await k(
        'patch',
        'memcached',
        'status-check',
        '--subresource=status',
        '--type=merge',
        '-p',
        '{"status":{"readyReplicas":-1}}',
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(
        /status\.readyReplicas: Invalid value: -1: readyReplicas in body should be greater than or equal to 0/,
      );
    });
  });

  describe('names: the Service of the same name must be possible', () => {
    // The API server accepts any DNS subdomain as a custom object's name (253 characters,
    // dots); a Service name is a DNS-1035 label. The CRD's rules on metadata.name refuse the
    // difference at admission, with the reason.
    const refused: [string, string, RegExp][] = [
      [
        '64 characters',
        'a'.repeat(64),
        /metadata\.name: Invalid value: .*metadata\.name must be at most 63 characters: it is also the name of the cache's Service/,
      ],
      [
        '253 characters',
        `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`,
        /metadata\.name must be at most 63 characters/,
      ],
      [
        'a dot (a.b)',
        'a.b',
        /metadata\.name: Invalid value: .*must consist of lower case letters, digits and '-', start with a letter .*\(no dots\): it is also the name of the cache's Service/,
      ],
      ['a leading digit (1cache)', '1cache', /metadata\.name: Invalid value: .*start with a letter/],
    ];
    it.each(refused)('%s is refused with the reason, nothing stored', async (_what, name, message) => {
      const r = await create(name, { size: 1 });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`The Memcached "${name}" is invalid`);
      expect(r.stderr).toMatch(message);
      expect(await exists(name)).toBe(false);
    });

    it('server-side apply is refused the same way', async () => {
      const r = await kubectl(
        KUBECONFIG,
        ['-n', ns.name, 'apply', '--server-side', '--field-manager=crd-test', '-f', '-'],
        manifest('a.b', { size: 1 }),
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/no dots/);
      expect(await exists('a.b')).toBe(false);
    });

    it('valid names are still accepted: 63 characters, digits and dashes inside', async () => {
      for (const name of ['x'.repeat(63), 'cache-2-b', 'c']) {
        const r = ok(await create(name, { size: 1 }));
        expect(JSON.parse(r.stdout).metadata.name).toBe(name);
      }
    });

    it('the rules are in the CRD from dist/', () => {
      expect(schema['x-kubernetes-validations'].map((v: any) => v.fieldPath)).toEqual([
        '.metadata.name',
        '.metadata.name',
      ]);
    });
  });

  describe('unknown fields', () => {
    // The schema has no x-kubernetes-preserve-unknown-fields, so an unknown field is never
    // stored. What the client sees depends on the field validation it asks for:
    //   kubectl's default is --validate=strict → rejected (tested here with and without the flag);
    //   --validate=warn → stored without the field, "Warning: unknown field" on stderr;
    //   --validate=false (Ignore) → silently pruned;
    //   a client that asks for nothing (client-node, curl) gets the API server's default,
    //   Warn: the field is pruned and the warning comes back as a response header.
    // Server-side apply always rejects it: the patch cannot be typed against the schema.
    it("--validate=strict (and kubectl's default) rejects an unknown spec field", async () => {
      for (const [name, flags] of [
        ['strict-flag', ['--validate=strict']],
        ['strict-default', []],
      ] as const) {
        const r = await create(name, { size: 2, bogus: 1 }, ...flags);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/strict decoding error: unknown field "spec\.bogus"/);
        expect(await exists(name)).toBe(false);
      }
    });

    it('--validate=warn stores the object without the field and warns', async () => {
      const r = await create('warned', { size: 2, bogus: 1 }, '--validate=warn');
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/Warning: unknown field "spec\.bogus"/);
      expect((await get('warned')).spec).toEqual({ size: 2, containerPort: PORT_DEFAULT });
    });

    it("--validate=false and the API server's default prune it", async () => {
      const r = await create('ignored', { size: 2, bogus: 1 }, '--validate=false');
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect((await get('ignored')).spec).toEqual({ size: 2, containerPort: PORT_DEFAULT });
      // client-node sets no fieldValidation: the default (Warn) applies.
      const created: any = await custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns.name,
        plural: 'memcacheds',
        body: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'Memcached',
          metadata: { name: 'raw' },
          spec: { size: 2, bogus: 1 },
        },
      });
      expect(created.spec).toEqual({ size: 2, containerPort: PORT_DEFAULT });
      expect((await get('raw')).spec).toEqual({ size: 2, containerPort: PORT_DEFAULT });
    });

    it('server-side apply rejects it whatever --validate says', async () => {
      for (const v of ['strict', 'false']) {
        const r = await kubectl(
          KUBECONFIG,
          ['-n', ns.name, 'apply', '--server-side', `--validate=${v}`, '--field-manager=crd-test', '-f', '-'],
          manifest(`ssa-${v}`, { size: 2, bogus: 1 }),
        );
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/\.spec\.bogus: field not declared in schema/);
        expect(await exists(`ssa-${v}`)).toBe(false);
      }
    });
  });

  describe('scale subresource', () => {
    it('`kubectl scale memcached/x --replicas=N` sets spec.size; above 5 is rejected', async () => {
      ok(await create('scaled', { size: 2 }));
      const before = await get('scaled');
      const r = ok(await k('scale', 'memcached/scaled', '--replicas=4'));
      expect(r.stdout).toMatch(/memcached\.cache\.example\.com\/scaled scaled/);
      const after = await get('scaled');
      expect(after.spec).toEqual({ size: 4, containerPort: PORT_DEFAULT });
      expect(after.metadata.generation).toBe(before.metadata.generation + 1);
      // The short name works for scale too.
      ok(await k('scale', 'mc/scaled', '--replicas=0'));
      expect((await get('scaled')).spec.size).toBe(0);

      const tooMany = await k('scale', 'memcached/scaled', '--replicas=6');
      expect(tooMany.code).not.toBe(0);
      expect(tooMany.stderr).toMatch(
        /spec\.size: Invalid value: 6: spec\.size in body should be less than or equal to 5/,
      );
      expect((await get('scaled')).spec.size).toBe(0);
    });

    it('reads spec.size, status.replicas and status.selector', async () => {
      ok(await create('scale-read', { size: 3 }));
      ok(
        await k(
          'patch',
          'memcached',
          'scale-read',
          '--subresource=status',
          '--type=merge',
          '-p',
          '{"status":{"replicas":2,"selector":"app.kubernetes.io/instance=scale-read"}}',
        ),
      );
      const r = ok(
        await kubectl(KUBECONFIG, [
          'get',
          '--raw',
          `/apis/${GROUP}/${VERSION}/namespaces/${ns.name}/memcacheds/scale-read/scale`,
        ]),
      );
      const scale = JSON.parse(r.stdout);
      expect(scale).toMatchObject({
        kind: 'Scale',
        spec: { replicas: 3 },
        status: { replicas: 2, selector: 'app.kubernetes.io/instance=scale-read' },
      });
    });
  });

  describe('kubectl get / explain', () => {
    const columns = (out: string) =>
      out
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/));

    it('`kubectl get memcached` prints NAME SIZE READY AVAILABLE AGE, filled from spec and status', async () => {
      ok(await create('cols', { size: 3 }));
      ok(
        await k(
          'patch',
          'memcached',
          'cols',
          '--subresource=status',
          '--type=merge',
          '-p',
          JSON.stringify({
            status: {
              readyReplicas: 2,
              conditions: [
                {
                  type: 'Available',
                  status: 'False',
                  reason: 'MinimumReplicasUnavailable',
                  message: '2 of 3 ready',
                  lastTransitionTime: '2025-01-01T00:00:00Z',
                },
              ],
            },
          }),
        ),
      );
      const r = ok(await k('get', 'memcached', 'cols'));
      const [header, row] = columns(r.stdout);
      expect(header).toEqual(['NAME', 'SIZE', 'READY', 'AVAILABLE', 'AGE']);
      expect(row.slice(0, 4)).toEqual(['cols', '3', '2', 'False']);
      expect(row[4]).toMatch(/^\d+[smhd]/);
    });

    it('the short name mc lists the same, and `kubectl get all` includes memcacheds (category all)', async () => {
      const long = ok(await k('get', 'memcached', '-o', 'name'));
      const short = ok(await k('get', 'mc', '-o', 'name'));
      expect(short.stdout).toBe(long.stdout);
      expect(short.stdout).toContain('memcached.cache.example.com/cols');
      const table = ok(await k('get', 'mc'));
      expect(columns(table.stdout)[0]).toEqual(['NAME', 'SIZE', 'READY', 'AVAILABLE', 'AGE']);
      const all = ok(await k('get', 'all', '-o', 'name'));
      expect(all.stdout).toContain('memcached.cache.example.com/cols');
    });

    it("`kubectl explain memcached.spec.size` prints the field's description", async () => {
      const description: string = schema.properties.spec.properties.size.description;
      expect(description).toMatch(/Number of memcached pods/);
      // The published OpenAPI of a new CRD may lag its Established condition by a moment.
      const r = await waitFor('kubectl explain memcached.spec.size', async () => {
        const x = await kubectl(KUBECONFIG, ['explain', 'memcached.spec.size']);
        return x.code === 0 ? x : undefined;
      });
      const flat = r.stdout.replace(/\s+/g, ' ');
      expect(flat).toContain('KIND: Memcached');
      expect(flat).toContain('FIELD: size <integer>');
      expect(flat).toContain(description.replace(/\s+/g, ' '));
      const port = ok(await kubectl(KUBECONFIG, ['explain', 'mc.spec.containerPort']));
      expect(port.stdout.replace(/\s+/g, ' ')).toContain(schema.properties.spec.properties.containerPort.description);
    });
  });

  describe("people's roles (memcached-editor aggregated into edit)", () => {
    // A user bound to the built-in `edit` role in this namespace gets what memcached-editor
    // adds to it (the controller-manager's aggregation controller copies the rules over).
    const user = 'crd-test-editor';
    const canI = async (verb: string, resource: string, subresource?: string) => {
      const r = await k(
        'auth',
        'can-i',
        verb,
        resource,
        ...(subresource ? [`--subresource=${subresource}`] : []),
        `--as=${user}`,
      );
      return r.stdout.trim();
    };

    beforeAll(async () => {
      ok(await k('create', 'rolebinding', 'editor', '--clusterrole=edit', `--user=${user}`));
      await waitFor('memcached-editor aggregated into edit', async () => (await canI('patch', 'memcacheds')) === 'yes');
    });

    it('may change spec and scale, may read status, may not write status', async () => {
      expect(await canI('create', 'memcacheds')).toBe('yes');
      expect(await canI('patch', 'memcacheds', 'scale')).toBe('yes');
      expect(await canI('get', 'memcacheds', 'status')).toBe('yes');
      expect(await canI('patch', 'memcacheds', 'status')).toBe('no');
      expect(await canI('update', 'memcacheds', 'status')).toBe('no');
    });

    it('a status patch as the editor is forbidden and changes nothing; scaling works', async () => {
      ok(await create('edited', { size: 1 }));
      const r = await k(
        'patch',
        'memcached',
        'edited',
        '--subresource=status',
        '--type=merge',
        `--as=${user}`,
        '-p',
        '{"status":{"readyReplicas":1}}',
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/forbidden: User "crd-test-editor" cannot patch resource "memcacheds\/status"/);
      expect((await get('edited')).status).toBeUndefined();
      ok(await k('scale', 'memcached/edited', '--replicas=2', `--as=${user}`));
      expect((await get('edited')).spec.size).toBe(2);
    });
  });

  describe('status subresource', () => {
    it('a patch of spec through /status is ignored; status is written', async () => {
      ok(await create('st', { size: 1 }));
      const before = await get('st');
      const r = ok(
        await k(
          'patch',
          'memcached',
          'st',
          '--subresource=status',
          '--type=merge',
          '-o',
          'json',
          '-p',
          '{"spec":{"size":5,"containerPort":1},"status":{"replicas":1,"readyReplicas":1}}',
        ),
      );
      const after = JSON.parse(r.stdout);
      expect(after.spec).toEqual({ size: 1, containerPort: PORT_DEFAULT });
      expect(after.status).toEqual({ replicas: 1, readyReplicas: 1 });
      expect(after.metadata.generation).toBe(before.metadata.generation);
      expect((await get('st')).spec).toEqual({ size: 1, containerPort: PORT_DEFAULT });
    });

    it('a patch of status through the main resource is ignored; spec is written', async () => {
      const before = await get('st');
      const r = ok(
        await k(
          'patch',
          'memcached',
          'st',
          '--type=merge',
          '-o',
          'json',
          '-p',
          '{"spec":{"size":2},"status":{"replicas":0,"readyReplicas":0,"selector":"x=y"}}',
        ),
      );
      const after = JSON.parse(r.stdout);
      expect(after.spec).toEqual({ size: 2, containerPort: PORT_DEFAULT });
      expect(after.status).toEqual({ replicas: 1, readyReplicas: 1 });
      expect(after.metadata.generation).toBe(before.metadata.generation + 1);
      // A create cannot set status either.
      const created = JSON.parse(
        ok(
          await kubectl(
            KUBECONFIG,
            ['-n', ns.name, 'create', '-o', 'json', '-f', '-'],
            JSON.stringify({ ...JSON.parse(manifest('born-with-status', { size: 1 })), status: { replicas: 3 } }),
          ),
        ).stdout,
      );
      expect(created.status).toBeUndefined();
    });
  });
});
