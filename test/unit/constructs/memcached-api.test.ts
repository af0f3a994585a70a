// One definition of the Memcached API: the schema in constructs/memcached-schema.ts is the
// source; the generated imports/ and the types and constants of memcached-api.ts must agree
// with it. The type-level checks fail `npm run compile`; the others fail here.
import { Memcached, toJson_MemcachedSpec } from '../../../imports/cache.example.com';
import {
  Condition,
  MEMCACHED_KIND,
  MemcachedSpec,
  MemcachedStatus,
  PORT_DEFAULT,
  SIZE_DEFAULT,
  SIZE_MAX,
  SIZE_MIN,
  editorRules,
  memcachedApiVersion,
} from '../../../constructs/memcached-api';
import { FromSchema, memcachedSchema, memcachedSpecSchema } from '../../../constructs/memcached-schema';
import { parseStackConfig } from '../../../constructs/config';
import { allObjects } from './helpers';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(ok: T) => ok;

describe('Memcached API', () => {
  it("the generated spec type is the schema's spec, once defaults apply", () => {
    expect(assertType<Equal<MemcachedSpec, Readonly<FromSchema<typeof memcachedSpecSchema, true>>>>(true)).toBe(true);
    // toJson_MemcachedSpec copies exactly the fields the generator saw in the CRD.
    const generated = Object.keys(toJson_MemcachedSpec({ size: 1, containerPort: 2 })!).sort();
    expect(generated).toEqual(Object.keys(memcachedSchema.properties.spec.properties).sort());
  });

  it('status types follow the schema: required condition fields, enum status', () => {
    expect(assertType<Equal<Condition['status'], 'True' | 'False' | 'Unknown'>>(true)).toBe(true);
    expect(
      assertType<Equal<keyof MemcachedStatus, keyof typeof memcachedSchema.properties.status.properties>>(true),
    ).toBe(true);
    const condition: Condition = {
      type: 'Available',
      status: 'True',
      reason: 'Ready',
      message: '',
      lastTransitionTime: '2024-01-01T00:00:00Z',
    };
    // @ts-expect-error reason is required by the schema
    const missing: Condition = { type: 'Available', status: 'True', message: '', lastTransitionTime: '' };
    expect([condition.type, missing.type]).toEqual(['Available', 'Available']);
    expect(memcachedSchema.properties.status.properties.conditions.items.required).toEqual([
      'type',
      'status',
      'lastTransitionTime',
      'reason',
      'message',
    ]);
  });

  it('the generated class has the kind and default API version declared in memcached-api.ts', () => {
    expect(Memcached.GVK).toEqual({ apiVersion: memcachedApiVersion(), kind: MEMCACHED_KIND });
  });

  it('people with the editor role read status but never write it (the operator owns it)', () => {
    const verbsFor = (resource: string) =>
      editorRules()
        .filter((r) => r.resources.includes(resource))
        .flatMap((r) => r.verbs);
    expect(verbsFor('memcacheds/status')).toEqual(['get']);
    expect(verbsFor('memcacheds/scale')).toEqual(['get', 'update', 'patch']);
    expect(verbsFor('memcacheds')).toEqual(expect.arrayContaining(['create', 'update', 'patch', 'delete']));
  });

  it("bounds and defaults are the served CRD's", () => {
    const crd = allObjects(parseStackConfig({})).find((o) => o.kind === 'CustomResourceDefinition')!;
    const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
    expect([spec.size.minimum, spec.size.maximum, spec.size.default, spec.containerPort.default]).toEqual([
      SIZE_MIN,
      SIZE_MAX,
      SIZE_DEFAULT,
      PORT_DEFAULT,
    ]);
    expect(parseStackConfig({}).memcached.sample.containerPort).toBe(PORT_DEFAULT);
  });
});
