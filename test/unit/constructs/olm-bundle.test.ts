// The OLM bundle: committed bundle/ equals a fresh `npm run bundle`, the CSV installs exactly
// what dist/ deploys, and the static checks of operator-sdk's scorecard `basic` and `olm`
// suites that need no cluster (spec block, CRD validation for the example's fields, owned CRD
// resources, spec and status descriptors, alm-examples valid against the CRD schema).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { writeBundle } from '../../../bundle';
import { loadStackConfig, parseStackConfig } from '../../../constructs/config';
import { memcachedSchema } from '../../../constructs/memcached-crd';
import { installModes, renderBundle } from '../../../constructs/olm-bundle';
import { DEFAULT_OPERATOR_IMAGE, RELEASE_VERSION } from '../../../constructs/release';
import { ConfigError } from '../../../constructs/validation';

type Obj = Record<string, any>;
const ROOT = process.cwd();

function filesUnder(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

const distObjects: Obj[] = parseAllDocuments(readFileSync(join(ROOT, 'dist/memcached-operator.k8s.yaml'), 'utf8')).map(
  (d) => d.toJS(),
);
const dist = (kind: string, name?: string) =>
  distObjects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name))!;

const bundle = renderBundle(parseStackConfig({}));
const manifests = [...bundle.entries()].filter(([f]) => f.startsWith('manifests/')).map(([, t]) => parse(t) as Obj);
const csv = manifests.find((o) => o.kind === 'ClusterServiceVersion')!;
const crd = manifests.find((o) => o.kind === 'CustomResourceDefinition')!;
const examples: Obj[] = JSON.parse(csv.metadata.annotations['alm-examples']);
const owned: Obj = csv.spec.customresourcedefinitions.owned[0];

/**
 * Checks a value against the subset of OpenAPI v3 the CRD uses (type, format-free integer
 * bounds, enum, required, properties, items), rejecting fields the schema does not declare
 * (the API server would prune them silently: an example must not rely on them).
 */
function schemaErrors(schema: Obj, value: unknown, path = ''): string[] {
  const at = path || '(root)';
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at}: must be an object`];
      if (!schema.properties) return [];
      const v = value as Obj;
      const errs = (schema.required ?? []).filter((k: string) => !(k in v)).map((k: string) => `${at}.${k}: required`);
      for (const [k, sub] of Object.entries(v)) {
        const s = schema.properties[k];
        if (!s) errs.push(`${path}.${k}: not in the schema`);
        else errs.push(...schemaErrors(s, sub, `${path}.${k}`));
      }
      return errs;
    }
    case 'array':
      if (!Array.isArray(value)) return [`${at}: must be an array`];
      return value.flatMap((x, i) => schemaErrors(schema.items, x, `${path}[${i}]`));
    case 'integer': {
      if (!Number.isInteger(value)) return [`${at}: must be an integer`];
      const n = value as number;
      if (schema.minimum !== undefined && n < schema.minimum) return [`${at}: below ${schema.minimum}`];
      if (schema.maximum !== undefined && n > schema.maximum) return [`${at}: above ${schema.maximum}`];
      return [];
    }
    case 'string':
      if (typeof value !== 'string') return [`${at}: must be a string`];
      return schema.enum && !schema.enum.includes(value) ? [`${at}: not one of ${schema.enum.join(', ')}`] : [];
    default:
      return [];
  }
}

describe('bundle/ (npm run bundle)', () => {
  it('is committed exactly as a fresh synth from the same configuration writes it', () => {
    const fresh = renderBundle(loadStackConfig());
    const committed = filesUnder(join(ROOT, 'bundle'));
    expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
    for (const [f, text] of fresh) expect({ file: f, text: committed.get(f) }).toEqual({ file: f, text });
  });

  it('is deterministic, and writeBundle replaces the whole directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bundle-test-'));
    try {
      const out = join(dir, 'bundle');
      writeBundle(renderBundle(parseStackConfig({})), out);
      const first = filesUnder(out);
      // a stale file from an older bundle must not survive a rewrite
      writeBundle(new Map([['manifests/stale.yaml', 'x: 1\n']]), out);
      writeBundle(renderBundle(parseStackConfig({})), out);
      expect(filesUnder(out)).toEqual(first);
      expect(first).toEqual(bundle);
      expect(readdirSync(dir)).toEqual(['bundle']); // no staging directories left behind
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('holds the CSV, the CRD, the metrics Service, the aggregated roles, metadata and the Dockerfile', () => {
    expect([...bundle.keys()]).toEqual([
      'bundle.Dockerfile',
      'manifests/cache.example.com_memcacheds.yaml',
      'manifests/memcached-editor_rbac.authorization.k8s.io_v1_clusterrole.yaml',
      'manifests/memcached-operator-metrics_v1_service.yaml',
      'manifests/memcached-operator.clusterserviceversion.yaml',
      'manifests/memcached-viewer_rbac.authorization.k8s.io_v1_clusterrole.yaml',
      'metadata/annotations.yaml',
    ]);
    // OLM places every namespaced object in the install namespace itself.
    for (const o of manifests) expect(o.metadata.namespace).toBeUndefined();
  });

  it('annotations.yaml and the bundle image labels say the same (registry+v1, package, channels)', () => {
    const annotations = (parse(bundle.get('metadata/annotations.yaml')!) as Obj).annotations;
    expect(annotations).toEqual({
      'operators.operatorframework.io.bundle.mediatype.v1': 'registry+v1',
      'operators.operatorframework.io.bundle.manifests.v1': 'manifests/',
      'operators.operatorframework.io.bundle.metadata.v1': 'metadata/',
      'operators.operatorframework.io.bundle.package.v1': 'memcached-operator',
      'operators.operatorframework.io.bundle.channels.v1': 'candidate',
      'operators.operatorframework.io.bundle.channel.default.v1': 'candidate',
    });
    const labels = Object.fromEntries(
      bundle
        .get('bundle.Dockerfile')!
        .split('\n')
        .filter((l) => l.startsWith('LABEL '))
        .map((l) => l.slice(6).split('=') as [string, string]),
    );
    expect(labels).toEqual(annotations);
    expect(bundle.get('bundle.Dockerfile')).toMatch(/^COPY manifests \/manifests\/$/m);
    expect(bundle.get('bundle.Dockerfile')).toMatch(/^COPY metadata \/metadata\/$/m);
  });
});

describe('the ClusterServiceVersion', () => {
  it('installs the operator Deployment exactly as dist/ has it', () => {
    const d = dist('Deployment', 'memcached-operator');
    expect(csv.spec.install.strategy).toBe('deployment');
    expect(csv.spec.install.spec.deployments).toEqual([
      { name: d.metadata.name, label: d.metadata.labels, spec: d.spec },
    ]);
  });

  it('grants what dist/ RBAC grants: cluster rules of the manager ClusterRole, namespaced rules of the leader-election Role', () => {
    const sa = dist('Deployment', 'memcached-operator').spec.template.spec.serviceAccountName;
    expect(csv.spec.install.spec.clusterPermissions).toEqual([
      { serviceAccountName: sa, rules: dist('ClusterRole', 'memcached-operator-manager').rules },
    ]);
    expect(csv.spec.install.spec.permissions).toEqual([
      { serviceAccountName: sa, rules: dist('Role', 'memcached-operator-leader-election').rules },
    ]);
    // and the CRD, the user roles and the metrics Service are dist/'s objects
    expect(crd).toEqual(dist('CustomResourceDefinition'));
    for (const name of ['memcached-viewer', 'memcached-editor'])
      expect(manifests.find((o) => o.metadata.name === name)).toEqual(dist('ClusterRole', name));
    const { namespace: _ns, ...svcMeta } = dist('Service', 'memcached-operator-metrics').metadata;
    expect(manifests.find((o) => o.kind === 'Service')).toEqual({
      ...dist('Service', 'memcached-operator-metrics'),
      metadata: svcMeta,
    });
  });

  it('names version, minKubeVersion, icon, maintainers, links, provider and the images', () => {
    expect(csv.metadata.name).toBe(`memcached-operator.v${RELEASE_VERSION}`);
    expect(csv.spec).toMatchObject({
      version: RELEASE_VERSION,
      minKubeVersion: '1.28.0',
      maturity: 'alpha',
      provider: { name: 'kube-tutorial-stack' },
    });
    expect(csv.spec.replaces).toBeUndefined();
    expect(csv.metadata.annotations['olm.skipRange']).toBeUndefined();
    expect(csv.spec.maintainers.length).toBeGreaterThan(0);
    expect(csv.spec.links.map((l: Obj) => l.url)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^https:\/\//)]),
    );
    const icon = csv.spec.icon[0];
    expect(icon.mediatype).toBe('image/svg+xml');
    expect(Buffer.from(icon.base64data, 'base64').toString()).toMatch(
      /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg".*<\/svg>$/,
    );
    expect(csv.metadata.annotations.containerImage).toBe(
      dist('Deployment', 'memcached-operator').spec.template.spec.containers[0].image,
    );
    expect(csv.spec.relatedImages.map((i: Obj) => i.image)).toEqual([
      DEFAULT_OPERATOR_IMAGE,
      'memcached:1.6.39-alpine',
    ]);
    expect(csv.metadata.annotations.capabilities).toBe('Basic Install');
  });

  it('install modes follow memcached.operator.watchNamespaces', () => {
    const modes = (w: string[]) =>
      Object.fromEntries(
        installModes(
          parseStackConfig({
            memcached: { operator: { watchNamespaces: w }, sample: { namespace: w[0] ?? 'default' } },
          }).memcached.operator,
        ).map((m) => [m.type, m.supported]),
      );
    expect(csv.spec.installModes).toEqual(installModes(parseStackConfig({}).memcached.operator));
    expect(modes([])).toEqual({
      OwnNamespace: false,
      SingleNamespace: false,
      MultiNamespace: false,
      AllNamespaces: true,
    });
    expect(modes(['team-a'])).toEqual({
      OwnNamespace: false,
      SingleNamespace: true,
      MultiNamespace: false,
      AllNamespaces: false,
    });
    expect(modes(['memcached-operator-system'])).toEqual({
      OwnNamespace: true,
      SingleNamespace: true,
      MultiNamespace: false,
      AllNamespaces: false,
    });
    expect(modes(['team-a', 'team-b'])).toEqual({
      OwnNamespace: false,
      SingleNamespace: false,
      MultiNamespace: true,
      AllNamespaces: false,
    });
  });

  it('takes version, replaces, skipRange and channels from memcached.olm', () => {
    const b = renderBundle(
      parseStackConfig({
        memcached: {
          operator: { image: 'ghcr.io/kube-tutorial-stack/memcached-operator:0.2.0' },
          olm: {
            replaces: 'memcached-operator.v0.1.0',
            skipRange: '>=0.0.1 <0.2.0',
            channels: ['candidate', 'stable'],
            defaultChannel: 'stable',
          },
        },
      }),
    );
    const c = parse(b.get('manifests/memcached-operator.clusterserviceversion.yaml')!) as Obj;
    expect(c.metadata.name).toBe('memcached-operator.v0.2.0');
    expect(c.spec).toMatchObject({ version: '0.2.0', replaces: 'memcached-operator.v0.1.0' });
    expect(c.metadata.annotations['olm.skipRange']).toBe('>=0.0.1 <0.2.0');
    expect(b.get('metadata/annotations.yaml')).toContain(
      'operators.operatorframework.io.bundle.channels.v1: candidate,stable',
    );
    expect(b.get('metadata/annotations.yaml')).toContain(
      'operators.operatorframework.io.bundle.channel.default.v1: stable',
    );
  });

  it('rejects a default channel outside the channels, a bad skipRange, and an image without a semver tag unless a version is given', () => {
    expect(() => parseStackConfig({ memcached: { olm: { defaultChannel: 'stable' } } })).toThrow(
      /memcached\.olm\.defaultChannel: defaultChannel must be one of channels/,
    );
    expect(() => parseStackConfig({ memcached: { olm: { skipRange: 'whatever' } } })).toThrow(
      /memcached\.olm\.skipRange: must be a semver range/,
    );
    const digest = { image: 'ghcr.io/kube-tutorial-stack/memcached-operator@sha256:' + 'a'.repeat(64) };
    expect(() => renderBundle(parseStackConfig({ memcached: { operator: digest } }))).toThrow(ConfigError);
    const ok = renderBundle(parseStackConfig({ memcached: { operator: digest, olm: { version: '0.1.1' } } }));
    expect(ok.get('manifests/memcached-operator.clusterserviceversion.yaml')).toContain(
      'name: memcached-operator.v0.1.1',
    );
  });
});

// operator-sdk scorecard: the checks of the `basic` and `olm` suites that need no cluster.
describe('scorecard basic + olm, static', () => {
  it('basic-check-spec: every alm-examples object has a spec block', () => {
    expect(examples.length).toBeGreaterThan(0);
    for (const e of examples) {
      expect(e.spec).toEqual(expect.any(Object));
      expect(Object.keys(e.spec).length).toBeGreaterThan(0);
    }
  });

  it('olm-crds-have-validation: the owned CRD has a schema declaring every field the examples set', () => {
    const v = crd.spec.versions.find((x: Obj) => x.name === owned.version);
    expect(v.schema.openAPIV3Schema.properties.spec.properties).toBeDefined();
    for (const e of examples)
      for (const k of Object.keys(e.spec)) expect(v.schema.openAPIV3Schema.properties.spec.properties[k]).toBeDefined();
    expect(owned).toMatchObject({ name: crd.metadata.name, kind: crd.spec.names.kind, version: v.name });
    expect(v.subresources.status).toEqual({}); // the status block the status descriptors describe
  });

  it('olm-crds-have-resources: the owned CRD lists the kinds it creates', () => {
    expect(owned.resources.map((r: Obj) => r.kind)).toEqual(['Deployment', 'Service', 'Pod']);
  });

  it('olm-spec-descriptors / olm-status-descriptors: one descriptor for every spec and status field', () => {
    const schema = crd.spec.versions[0].schema.openAPIV3Schema;
    expect(owned.specDescriptors.map((d: Obj) => d.path).sort()).toEqual(
      Object.keys(schema.properties.spec.properties).sort(),
    );
    expect(owned.statusDescriptors.map((d: Obj) => d.path).sort()).toEqual(
      Object.keys(schema.properties.status.properties).sort(),
    );
    for (const e of examples)
      for (const k of Object.keys(e.spec)) expect(owned.specDescriptors.map((d: Obj) => d.path)).toContain(k);
    for (const d of [...owned.specDescriptors, ...owned.statusDescriptors]) {
      expect(d.displayName).toMatch(/^[A-Z]/);
      expect(d.description.length).toBeGreaterThan(5);
      expect(d['x-descriptors'][0]).toMatch(/^urn:alm:descriptor:/);
    }
  });

  it('alm-examples are valid Memcached objects under the CRD schema', () => {
    const schema = crd.spec.versions[0].schema.openAPIV3Schema;
    for (const e of examples) {
      expect(e).toMatchObject({
        apiVersion: `${crd.spec.group}/${owned.version}`,
        kind: owned.kind,
        metadata: { name: expect.any(String) },
      });
      expect(schemaErrors(schema, { ...e, metadata: {} })).toEqual([]);
    }
    // the checker itself finds what the API server would reject or prune
    expect(schemaErrors(memcachedSchema as Obj, { spec: { size: 9, port: 1 } })).toEqual([
      '.spec.size: above 5',
      '.spec.port: not in the schema',
    ]);
  });
});
