// operator/memcached/operand-templates.ts: a filled-in template is exactly the direct rendering.
import { describe, expect, it } from '@jest/globals';
import { renderMemcachedOperand, type MemcachedOwner } from '../../../../constructs/memcached-operand';
import { OperandTemplates } from '../../../../operator/memcached/operand-templates';

const IMAGE = 'docker.io/library/memcached:1.6.39-alpine';
const API = 'cache.example.com/v1alpha1';

const owners: MemcachedOwner[] = [
  { apiVersion: API, name: 'a', namespace: 'default', uid: '2d6c1e8e-0000-4000-8000-000000000001' },
  { apiVersion: API, name: 'memcached-sample', namespace: 'team-a', uid: 'uid-2' },
  // a name equal to a label value the construct also uses, and the longest plain label value
  { apiVersion: API, name: 'memcached', namespace: 'memcached', uid: 'uid-3' },
  { apiVersion: API, name: 'n'.repeat(63), namespace: 'ns', uid: 'uid-4' },
  // over 63 characters: the construct hashes the label value, so this one is rendered directly
  { apiVersion: API, name: `long-${'x'.repeat(70)}`, namespace: 'ns', uid: 'uid-5' },
  { apiVersion: 'cache.example.org/v1alpha1', name: 'other-group', namespace: 'ns', uid: 'uid-6' },
];

describe('OperandTemplates', () => {
  it('renders what the construct renders, for every identity and shape', () => {
    const templates = new OperandTemplates(IMAGE);
    for (const owner of owners) {
      for (const [size, containerPort] of [
        [1, 11211],
        [3, 11211],
        [3, 12000],
        [0, 11211],
      ]) {
        expect(templates.render(owner, size, containerPort)).toEqual(
          renderMemcachedOperand({ owner, spec: { size, containerPort }, image: IMAGE }),
        );
      }
    }
    // only the name over 63 characters went to the construct
    expect(templates.counts).toEqual({ filled: 20, direct: 4 });
  });

  it('gives every object its own copy', () => {
    const templates = new OperandTemplates(IMAGE);
    const a = templates.render(owners[0], 2, 11211);
    const b = templates.render(owners[1], 2, 11211);
    expect(a.deployment.metadata.name).toBe('a');
    expect(b.deployment.metadata.name).toBe('memcached-sample');
    expect(a.deployment.spec).not.toBe(b.deployment.spec);
    expect(b.service.spec.selector['app.kubernetes.io/instance']).toBe('memcached-sample');
    expect(b.deployment.metadata.ownerReferences[0]).toMatchObject({ name: 'memcached-sample', uid: 'uid-2' });
  });

  it('shares what holds no identity between the objects of one shape, frozen', () => {
    const templates = new OperandTemplates(IMAGE);
    const a = templates.render(owners[0], 2, 11211);
    const b = templates.render(owners[1], 2, 11211);
    expect(a.deployment.spec.template.spec.containers).toBe(b.deployment.spec.template.spec.containers);
    expect(Object.isFrozen(a.deployment.spec.template.spec.containers[0])).toBe(true);
    expect(a.deployment.metadata.labels).not.toBe(b.deployment.metadata.labels);
  });
});
