// The Memcached operator as an Operator Lifecycle Manager bundle (registry+v1): a
// ClusterServiceVersion, the CRD, the metrics Service and the aggregated user roles, plus the
// bundle metadata and the bundle image's Dockerfile. Nothing here is written by hand twice:
// the CSV's install strategy is the operator Deployment of MemcachedOperatorChart (the chart
// that writes dist/memcached-operator.k8s.yaml), its permissions are the rules of
// memcached-api.ts, its example is the MemcachedSampleChart object and its descriptors are
// read from the CRD's schema.
import { ApiObject, App, Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { z } from 'zod';
import type { StackConfig } from './config';
import { imageVersion } from './labels';
import {
  MEMCACHED_KIND,
  MEMCACHED_PLURAL,
  MEMCACHED_VERSION,
  leaderElectionRules,
  memcachedGroup,
  operatorRules,
  PolicyRule,
} from './memcached-api';
import { memcachedSchema } from './memcached-crd';
import { MemcachedOperatorChart, MemcachedOperatorConfig } from './memcached-operator';
import { MemcachedSampleChart, MemcachedSampleConfig } from './memcached-sample';
import { ConfigError, dnsLabel, dnsSubdomain } from './validation';

/** The registry+v1 bundle format (what `operator-sdk run bundle` and catalogs unpack). */
export const BUNDLE_MEDIA_TYPE = 'registry+v1';
export const CSV_API_VERSION = 'operators.coreos.com/v1alpha1';

// Semantic version 2.0.0 (OLM parses CSV versions with blang/semver).
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;
// A blang/semver range as olm.skipRange takes it: comparisons joined by spaces (AND) or ||.
const SEMVER_RANGE =
  /^\s*(?:(?:[<>]=?|=|!=)?\s*v?\d+(?:\.\d+){0,2}(?:-[0-9A-Za-z.-]+)?\s*)+(?:\|\|\s*(?:(?:[<>]=?|=|!=)?\s*v?\d+(?:\.\d+){0,2}(?:-[0-9A-Za-z.-]+)?\s*)+)*$/;

const semver = () => z.string().regex(SEMVER, "must be a semantic version such as '0.1.0'");
const url = () => z.string().regex(/^https?:\/\/[^\s/$.?#].[^\s]*$/, 'must be an http(s) URL');

export const olmBundleSchema = z
  .strictObject({
    /** OLM package name (catalogs, Subscriptions and the CSV name use it). */
    packageName: dnsLabel().default('memcached-operator'),
    /**
     * Channels this bundle is published in. OLM's channel naming convention (checked by the
     * good-practices validator): `candidate*` for previews, `fast*` and `stable*` for releases.
     */
    channels: z.array(dnsSubdomain()).min(1, 'must name at least one channel').default(['candidate']),
    /** Default channel of the package; defaults to the first of `channels`. */
    defaultChannel: dnsSubdomain().optional(),
    /** The CSV's version; defaults to the operator image's tag (which must then be semver). */
    version: semver().optional(),
    /** Name of the CSV this one upgrades, e.g. `memcached-operator.v0.0.9`. */
    replaces: dnsSubdomain().optional(),
    /** olm.skipRange: versions this one replaces directly, e.g. `>=0.0.1 <0.1.0`. */
    skipRange: z.string().regex(SEMVER_RANGE, "must be a semver range such as '>=0.0.1 <0.1.0'").optional(),
    /** Oldest Kubernetes the bundle installs on (cdk8s-plus-28: the 1.28 API). */
    minKubeVersion: semver().default('1.28.0'),
    maturity: z
      .enum(['planning', 'pre-alpha', 'alpha', 'beta', 'stable', 'mature', 'inactive', 'deprecated'])
      .default('alpha'),
    provider: z
      .strictObject({ name: z.string().min(1), url: url().optional() })
      .default({ name: 'kube-tutorial-stack' }),
    maintainers: z
      .array(
        z.strictObject({
          name: z.string().min(1),
          email: z.string().regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'must be an e-mail address'),
        }),
      )
      .min(1, 'must name at least one maintainer')
      .default([{ name: 'kube-tutorial-stack maintainers', email: 'maintainers@kube-tutorial-stack.dev' }]),
    links: z.array(z.strictObject({ name: z.string().min(1), url: url() })).default([
      { name: 'Source', url: 'https://github.com/kube-tutorial-stack/kube-tutorial-stack' },
      { name: 'Memcached', url: 'https://memcached.org' },
    ]),
  })
  .refine((o) => o.defaultChannel === undefined || o.channels.includes(o.defaultChannel), {
    message: 'defaultChannel must be one of channels',
    path: ['defaultChannel'],
  });
export type OlmBundleConfig = z.output<typeof olmBundleSchema>;

export const OPERATOR_CHART_ID = 'memcached-operator';

/**
 * The objects MemcachedOperatorChart writes to dist/, built in an app of their own (never
 * synthesized to disk). The chart id is the one main.ts uses, so construct-path derived
 * values (the pod template's cdk8s.io/metadata.addr label) come out identical.
 */
/** A manifest as cdk8s renders it: plain JSON, untyped (`Chart.toJson()`'s element type). */
export type Manifest = ReturnType<Chart['toJson']>[number];

export function operatorChartObjects(config: MemcachedOperatorConfig): Manifest[] {
  const app = new App({ outdir: '/nonexistent' });
  return new MemcachedOperatorChart(app, OPERATOR_CHART_ID, { config }).toJson();
}

export function sampleObject(sample: MemcachedSampleConfig, groupDomain: string): Manifest {
  const app = new App({ outdir: '/nonexistent' });
  return new MemcachedSampleChart(app, 'memcached-sample', { config: sample, groupDomain }).toJson()[0];
}

/** The bundle's CSV version: configured, or the operator image's tag. */
export function bundleVersion(operator: MemcachedOperatorConfig, olm: OlmBundleConfig): string {
  if (olm.version) return olm.version;
  const tag = imageVersion(operator.image);
  if (!SEMVER.test(tag)) {
    throw new ConfigError([
      `memcached.olm.version: required when memcached.operator.image has no semantic-version tag (it has '${tag}')`,
    ]);
  }
  return tag;
}

export function csvName(olm: OlmBundleConfig, version: string): string {
  return `${olm.packageName}.v${version}`;
}

export interface InstallMode {
  type: 'OwnNamespace' | 'SingleNamespace' | 'MultiNamespace' | 'AllNamespaces';
  supported: boolean;
}

/**
 * What the OperatorGroup may target, given the namespaces the Deployment watches
 * (WATCH_NAMESPACE comes from the configuration, not from the OperatorGroup):
 * none configured → all namespaces; one → that one (own namespace when it is the operator's);
 * several → exactly those.
 */
export function installModes(operator: MemcachedOperatorConfig): InstallMode[] {
  const w = operator.watchNamespaces;
  const all = w.length === 0;
  const single = w.length === 1;
  return [
    { type: 'OwnNamespace', supported: single && w[0] === operator.namespace },
    { type: 'SingleNamespace', supported: single },
    { type: 'MultiNamespace', supported: w.length > 1 },
    { type: 'AllNamespaces', supported: all },
  ];
}

export interface Descriptor {
  path: string;
  displayName: string;
  description: string;
  'x-descriptors': string[];
}

// UI hints for the fields the console knows how to show specially; the rest are text/number.
const SPEC_X_DESCRIPTORS: Record<string, string[]> = {
  size: ['urn:alm:descriptor:com.tectonic.ui:podCount'],
  containerPort: ['urn:alm:descriptor:com.tectonic.ui:number'],
};
const STATUS_X_DESCRIPTORS: Record<string, string[]> = {
  nodes: ['urn:alm:descriptor:text'],
  replicas: ['urn:alm:descriptor:com.tectonic.ui:podCount'],
  readyReplicas: ['urn:alm:descriptor:com.tectonic.ui:podCount'],
  selector: ['urn:alm:descriptor:text'],
  observedGeneration: ['urn:alm:descriptor:text'],
  conditions: ['urn:alm:descriptor:io.kubernetes.conditions'],
};

/** `readyReplicas` → `Ready Replicas`. */
export function displayName(field: string): string {
  return field.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());
}

/** One descriptor per property of the schema's `spec` or `status`, in schema order. */
export function descriptors(block: 'spec' | 'status'): Descriptor[] {
  const props = memcachedSchema.properties?.[block]?.properties ?? {};
  const hints = block === 'spec' ? SPEC_X_DESCRIPTORS : STATUS_X_DESCRIPTORS;
  return Object.entries(props).map(([path, schema]) => ({
    path,
    displayName: displayName(path),
    description: schema.description ?? '',
    'x-descriptors': hints[path] ?? [
      schema.type === 'integer' ? 'urn:alm:descriptor:com.tectonic.ui:number' : 'urn:alm:descriptor:text',
    ],
  }));
}

function rbacRules(rules: PolicyRule[]) {
  return rules.map((r) => ({
    apiGroups: r.apiGroups,
    resources: r.resources,
    verbs: r.verbs,
    ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
  }));
}

const DESCRIPTION = `Runs [memcached](https://memcached.org) caches declared as \`Memcached\` objects.

For each \`Memcached\` the operator keeps a Deployment of \`spec.size\` memcached pods
(Pod Security *restricted*) and a headless Service on \`spec.containerPort\`, restores
hand edits, and reports \`status.nodes\`, ready replicas and Available/Progressing/Degraded
conditions. \`kubectl scale memcached/NAME --replicas=N\` works through the scale subresource.

The operator is a TypeScript controller with leader election, health probes and Prometheus
metrics on port 8080 (Service \`memcached-operator-metrics\`).`;

// Our own icon: three stacked cache slabs on a rounded square.
const ICON_SVG = [
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">',
  '<rect width="64" height="64" rx="12" fill="#1f6f8b"/>',
  '<rect x="14" y="14" width="36" height="9" rx="3" fill="#e8f4f8"/>',
  '<rect x="14" y="27.5" width="36" height="9" rx="3" fill="#99d6ea"/>',
  '<rect x="14" y="41" width="36" height="9" rx="3" fill="#e8f4f8"/>',
  '</svg>',
].join('');

export interface MemcachedOlmBundleChartProps extends ChartProps {
  readonly config: StackConfig;
}

/**
 * The bundle's manifests: every object OLM installs from this bundle. Objects are namespaced
 * by OLM (the install namespace of the OperatorGroup), so none carries a namespace.
 */
export class MemcachedOlmBundleChart extends Chart {
  readonly csvName: string;
  readonly version: string;
  readonly olm: OlmBundleConfig;
  readonly csv: ApiObject;

  constructor(scope: Construct, id: string, props: MemcachedOlmBundleChartProps) {
    super(scope, id, { ...props, disableResourceNameHashes: true });
    const { operator, sample, olm } = props.config.memcached;
    this.olm = olm;
    this.version = bundleVersion(operator, olm);
    this.csvName = csvName(olm, this.version);
    const group = memcachedGroup(operator.groupDomain);

    const objs = operatorChartObjects(operator);
    const find = (kind: string, name?: string) => {
      const o = objs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
      if (!o) throw new Error(`MemcachedOperatorChart has no ${kind}${name ? ` ${name}` : ''}`);
      return o;
    };
    const deployment = find('Deployment', 'memcached-operator');
    const crd = find('CustomResourceDefinition');
    const metrics = find('Service', 'memcached-operator-metrics');
    const serviceAccount = deployment.spec.template.spec.serviceAccountName as string;

    const example = sampleObject(sample, operator.groupDomain);
    delete example.metadata.namespace; // created in whichever namespace the user picks
    delete example.metadata.annotations; // Argo CD sync hints (memcached-sample.ts), not for OLM users

    const annotations: Record<string, string> = {
      'alm-examples': JSON.stringify([example], null, 2),
      capabilities: 'Basic Install',
      categories: 'Database',
      containerImage: operator.image,
      description: 'Memcached caches as Memcached objects: a Deployment and a Service each, scaled by spec.size.',
      'operatorframework.io/suggested-namespace': operator.namespace,
      repository: olm.links.find((l) => l.name === 'Source')?.url ?? '',
      support: olm.provider.name,
    };
    if (!annotations.repository) delete annotations.repository;
    if (olm.skipRange) annotations['olm.skipRange'] = olm.skipRange;

    const spec: Record<string, unknown> = {
      displayName: 'Memcached Operator',
      description: DESCRIPTION,
      version: this.version,
      ...(olm.replaces ? { replaces: olm.replaces } : {}),
      minKubeVersion: olm.minKubeVersion,
      maturity: olm.maturity,
      provider: olm.provider,
      maintainers: olm.maintainers,
      links: olm.links,
      keywords: ['memcached', 'cache', 'key-value', 'operator'],
      icon: [{ base64data: Buffer.from(ICON_SVG).toString('base64'), mediatype: 'image/svg+xml' }],
      installModes: installModes(operator),
      install: {
        strategy: 'deployment',
        spec: {
          clusterPermissions: [
            { serviceAccountName: serviceAccount, rules: rbacRules(operatorRules(operator.groupDomain)) },
          ],
          permissions: [{ serviceAccountName: serviceAccount, rules: rbacRules(leaderElectionRules()) }],
          deployments: [{ name: deployment.metadata.name, label: deployment.metadata.labels, spec: deployment.spec }],
        },
      },
      customresourcedefinitions: {
        owned: [
          {
            name: `${MEMCACHED_PLURAL}.${group}`,
            version: MEMCACHED_VERSION,
            kind: MEMCACHED_KIND,
            displayName: 'Memcached',
            description: memcachedSchema.description,
            resources: [
              { kind: 'Deployment', version: 'v1', name: '' },
              { kind: 'Service', version: 'v1', name: '' },
              { kind: 'Pod', version: 'v1', name: '' },
            ],
            specDescriptors: descriptors('spec'),
            statusDescriptors: descriptors('status'),
          },
        ],
      },
      relatedImages: [
        { name: 'memcached-operator', image: operator.image },
        { name: 'memcached', image: operator.memcachedImage },
      ],
    };
    this.csv = new ApiObject(this, 'csv', {
      apiVersion: CSV_API_VERSION,
      kind: 'ClusterServiceVersion',
      metadata: { name: this.csvName, annotations },
      spec,
    });

    new ApiObject(this, 'crd', crd);
    const { namespace: _ns, ...metricsMeta } = metrics.metadata;
    new ApiObject(this, 'metrics-service', { ...metrics, metadata: metricsMeta });
    for (const role of objs.filter(
      (o) => o.kind === 'ClusterRole' && /aggregate-to-/.test(Object.keys(o.metadata.labels ?? {}).join(' ')),
    )) {
      new ApiObject(this, `role-${role.metadata.name}`, role);
    }
  }
}

/** operator-sdk's file naming: `<name>.clusterserviceversion.yaml`, `<group>_<plural>.yaml`, `<name>_<group>_<version>_<kind>.yaml`. */
export function manifestFileName(o: Manifest): string {
  if (o.kind === 'ClusterServiceVersion')
    return `${o.metadata.name.replace(/\.v\d.*$/, '')}.clusterserviceversion.yaml`;
  if (o.kind === 'CustomResourceDefinition') return `${o.spec.group}_${o.spec.names.plural}.yaml`;
  const [groupOrVersion, maybeVersion] = String(o.apiVersion).split('/');
  const gv = maybeVersion ? `${groupOrVersion}_${maybeVersion}` : groupOrVersion;
  return `${o.metadata.name}_${gv}_${String(o.kind).toLowerCase()}.yaml`;
}

export const YAML_OPTIONS = { lineWidth: 0, indentSeq: true } as const;

/** Bundle annotations: the same keys as the bundle image's labels. */
export function bundleAnnotations(olm: OlmBundleConfig): Record<string, string> {
  return {
    'operators.operatorframework.io.bundle.mediatype.v1': BUNDLE_MEDIA_TYPE,
    'operators.operatorframework.io.bundle.manifests.v1': 'manifests/',
    'operators.operatorframework.io.bundle.metadata.v1': 'metadata/',
    'operators.operatorframework.io.bundle.package.v1': olm.packageName,
    'operators.operatorframework.io.bundle.channels.v1': olm.channels.join(','),
    'operators.operatorframework.io.bundle.channel.default.v1': olm.defaultChannel ?? olm.channels[0],
  };
}

/**
 * The whole bundle directory as relative path → content: manifests/, metadata/ and
 * bundle.Dockerfile (build context: the bundle directory,
 * `docker build -f bundle/bundle.Dockerfile -t IMAGE bundle/`).
 */
export function renderBundle(config: StackConfig): Map<string, string> {
  const app = new App({ outdir: '/nonexistent' });
  const chart = new MemcachedOlmBundleChart(app, 'bundle', { config });
  const files = new Map<string, string>();
  for (const o of chart.toJson()) {
    const name = `manifests/${manifestFileName(o)}`;
    if (files.has(name)) throw new Error(`two bundle manifests would be written to ${name}`);
    files.set(name, stringify(o, YAML_OPTIONS));
  }
  const annotations = bundleAnnotations(chart.olm);
  files.set('metadata/annotations.yaml', stringify({ annotations }, YAML_OPTIONS));
  files.set(
    'bundle.Dockerfile',
    [
      '# The bundle image: `docker build -f bundle/bundle.Dockerfile -t IMAGE bundle/` (written by `npm run bundle`).',
      'FROM scratch',
      '',
      ...Object.entries(annotations).map(([k, v]) => `LABEL ${k}=${v}`),
      '',
      'COPY manifests /manifests/',
      'COPY metadata /metadata/',
      '',
    ].join('\n'),
  );
  return new Map([...files.entries()].sort(([a], [b]) => a.localeCompare(b)));
}
