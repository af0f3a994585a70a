// One place for the release: package.json's version and the repository in constructs/release.ts
// make the default operator image, and everything that names the operator's version (dist/'s
// image and version labels, the OLM CSV) follows from it. A bump of package.json's version
// that is not re-synthesized fails the committed-dist/ tests; these fail when any of them
// stops deriving from the one source.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseStackConfig } from '../../../constructs/config';
import { imageVersion } from '../../../constructs/labels';
import { memcachedOperatorSchema } from '../../../constructs/memcached-operator';
import { bundleVersion, renderBundle } from '../../../constructs/olm-bundle';
import {
  DEFAULT_OPERATOR_IMAGE,
  OPERATOR_IMAGE_REPOSITORY,
  RELEASE_TAG,
  RELEASE_VERSION,
} from '../../../constructs/release';

type Obj = Record<string, any>;
const ROOT = process.cwd();
const packageVersion: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$/;

const operatorObjects = (dir: string): Obj[] =>
  parseAllDocuments(readFileSync(join(ROOT, dir, 'memcached-operator.k8s.yaml'), 'utf8')).map((d) => d.toJS());

describe('the release version and image have one source', () => {
  it("the version is package.json's, a semantic version; the tag is v<version>", () => {
    expect(RELEASE_VERSION).toBe(packageVersion);
    expect(RELEASE_VERSION).toMatch(SEMVER);
    expect(RELEASE_TAG).toBe(`v${packageVersion}`);
  });

  it('the default operator image is the repository tagged with that version', () => {
    expect(DEFAULT_OPERATOR_IMAGE).toBe(`${OPERATOR_IMAGE_REPOSITORY}:${packageVersion}`);
    expect(memcachedOperatorSchema.parse({}).image).toBe(DEFAULT_OPERATOR_IMAGE);
    expect(parseStackConfig({}).memcached.operator.image).toBe(DEFAULT_OPERATOR_IMAGE);
    // The repository is lower case (registries refuse anything else) and has no tag of its own.
    expect(OPERATOR_IMAGE_REPOSITORY).toMatch(/^ghcr\.io\/[a-z0-9._/-]+$/);
  });

  it.each(['dist', 'envs/staging/dist', 'envs/prod/dist'])(
    '%s deploys that image, and every version label of the operator is its tag',
    (dir) => {
      const objs = operatorObjects(dir);
      const deployment = objs.find((o) => o.kind === 'Deployment')!;
      const images = deployment.spec.template.spec.containers.map((c: Obj) => c.image);
      expect(images).toEqual([DEFAULT_OPERATOR_IMAGE]);
      const versions = new Set(
        objs.flatMap((o) =>
          [o.metadata.labels, o.spec?.template?.metadata?.labels]
            .filter(Boolean)
            .map((l: Obj) => l['app.kubernetes.io/version']),
        ),
      );
      expect([...versions]).toEqual([RELEASE_VERSION]);
    },
  );

  it("the OLM bundle's CSV version, name and images come from the same version", () => {
    const config = parseStackConfig({});
    expect(bundleVersion(config.memcached.operator, config.memcached.olm)).toBe(RELEASE_VERSION);
    const csvFile = [...renderBundle(config).entries()].find(([f]) => f.endsWith('.clusterserviceversion.yaml'))!;
    const csv = parseAllDocuments(csvFile[1])[0].toJS() as Obj;
    expect(csv.metadata.name).toBe(`memcached-operator.v${RELEASE_VERSION}`);
    expect(csv.spec.version).toBe(RELEASE_VERSION);
    expect(csv.metadata.annotations.containerImage).toBe(DEFAULT_OPERATOR_IMAGE);
    expect(csv.spec.relatedImages).toContainEqual({ name: 'memcached-operator', image: DEFAULT_OPERATOR_IMAGE });
    // The committed bundle/ says the same.
    const committed = readFileSync(
      join(ROOT, 'bundle/manifests/memcached-operator.clusterserviceversion.yaml'),
      'utf8',
    );
    expect(committed).toBe(csvFile[1]);
  });

  it('a configured image still wins, and its tag becomes the version label', () => {
    const image = 'registry.example.com/team/memcached-operator:1.2.3';
    const config = parseStackConfig({ memcached: { operator: { image } } });
    expect(config.memcached.operator.image).toBe(image);
    expect(imageVersion(config.memcached.operator.image)).toBe('1.2.3');
    expect(bundleVersion(config.memcached.operator, config.memcached.olm)).toBe('1.2.3');
  });
});
