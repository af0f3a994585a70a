// The Memcached CustomResourceDefinition. The schema (memcached-schema.ts) does all validation
// and defaulting, so no webhook is needed: the API server rejects bad specs with the schema's
// own message.
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  MEMCACHED_KIND,
  MEMCACHED_LIST_KIND,
  MEMCACHED_PLURAL,
  MEMCACHED_SHORT_NAMES,
  MEMCACHED_SINGULAR,
  MEMCACHED_VERSION,
  memcachedGroup,
} from './memcached-api';
import { memcachedSchema } from './memcached-schema';

export { memcachedSchema };

export interface MemcachedCrdProps {
  readonly groupDomain: string;
  readonly labels?: Record<string, string>;
}

export class MemcachedCrd extends Construct {
  readonly group: string;

  constructor(scope: Construct, id: string, props: MemcachedCrdProps) {
    super(scope, id);
    this.group = memcachedGroup(props.groupDomain);
    new k8s.KubeCustomResourceDefinition(this, 'crd', {
      metadata: { name: `${MEMCACHED_PLURAL}.${this.group}`, labels: props.labels },
      spec: {
        group: this.group,
        scope: 'Namespaced',
        names: {
          kind: MEMCACHED_KIND,
          listKind: MEMCACHED_LIST_KIND,
          plural: MEMCACHED_PLURAL,
          singular: MEMCACHED_SINGULAR,
          shortNames: MEMCACHED_SHORT_NAMES,
          categories: ['all'],
        },
        versions: [
          {
            name: MEMCACHED_VERSION,
            served: true,
            storage: true,
            schema: { openApiv3Schema: memcachedSchema },
            subresources: {
              status: {},
              scale: {
                specReplicasPath: '.spec.size',
                statusReplicasPath: '.status.replicas',
                labelSelectorPath: '.status.selector',
              },
            },
            additionalPrinterColumns: [
              { name: 'Size', type: 'integer', jsonPath: '.spec.size', description: 'Desired number of pods' },
              { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Ready pods' },
              {
                name: 'Available',
                type: 'string',
                jsonPath: ".status.conditions[?(@.type=='Available')].status",
                description: 'Available condition',
              },
              { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            ],
          },
        ],
      },
    });
  }
}
