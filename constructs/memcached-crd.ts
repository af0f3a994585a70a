// The Memcached CustomResourceDefinition. The schema does all validation and defaulting, so
// no webhook is needed: the API server rejects bad specs with the schema's own message.
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  MEMCACHED_KIND, MEMCACHED_LIST_KIND, MEMCACHED_PLURAL, MEMCACHED_SHORT_NAMES, MEMCACHED_SINGULAR,
  MEMCACHED_VERSION, PORT_DEFAULT, SIZE_DEFAULT, SIZE_MAX, SIZE_MIN, memcachedGroup,
} from './memcached-api';

export interface MemcachedCrdProps {
  readonly groupDomain: string;
  readonly labels?: Record<string, string>;
}

const conditionSchema: k8s.JsonSchemaProps = {
  type: 'object',
  description: 'One aspect of the current state, in the standard Kubernetes Condition form.',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: { type: 'string', maxLength: 316, description: 'Condition type: Available, Progressing or Degraded.' },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'], description: 'True, False or Unknown.' },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0, description: 'The .metadata.generation this condition was computed from.' },
    lastTransitionTime: { type: 'string', format: 'date-time', description: 'When the status last changed.' },
    reason: { type: 'string', maxLength: 1024, minLength: 1, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$', description: 'Machine-readable CamelCase reason for the last transition.' },
    message: { type: 'string', maxLength: 32768, description: 'Human-readable details about the last transition.' },
  },
};

export const memcachedSchema: k8s.JsonSchemaProps = {
  type: 'object',
  description: 'Memcached is a memcached cache managed by the memcached-operator: a Deployment of `size` pods and a Service in front of them.',
  properties: {
    apiVersion: { type: 'string', description: 'Versioned schema of this representation of an object.' },
    kind: { type: 'string', description: 'Kind of this REST resource: Memcached.' },
    metadata: { type: 'object' },
    spec: {
      type: 'object',
      description: 'Desired state of the cache.',
      default: {},
      properties: {
        size: {
          type: 'integer',
          format: 'int32',
          minimum: SIZE_MIN,
          maximum: SIZE_MAX,
          default: SIZE_DEFAULT,
          description: `Number of memcached pods (${SIZE_MIN} to ${SIZE_MAX}; default ${SIZE_DEFAULT}). Also set by "kubectl scale".`,
        },
        containerPort: {
          type: 'integer',
          format: 'int32',
          minimum: 1,
          maximum: 65535,
          default: PORT_DEFAULT,
          description: `Port memcached listens on and the Service exposes (1 to 65535; default ${PORT_DEFAULT}).`,
        },
      },
    },
    status: {
      type: 'object',
      description: 'Observed state, written by the operator.',
      properties: {
        nodes: { type: 'array', items: { type: 'string', description: 'A pod name.' }, description: 'Names of the memcached pods.' },
        replicas: { type: 'integer', format: 'int32', minimum: 0, description: 'Pods of the Deployment (the scale subresource reads this).' },
        readyReplicas: { type: 'integer', format: 'int32', minimum: 0, description: 'Pods that are ready.' },
        selector: { type: 'string', description: 'Label selector of the pods, in string form (for the scale subresource and autoscalers).' },
        observedGeneration: { type: 'integer', format: 'int64', description: 'The .metadata.generation the operator last acted on.' },
        conditions: {
          type: 'array',
          description: 'Available: the cache serves with the desired size. Progressing: a change is rolling out. Degraded: the operator cannot reach the desired state.',
          items: conditionSchema,
          xKubernetesListType: 'map',
          xKubernetesListMapKeys: ['type'],
        },
      },
    },
  },
};

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
              { name: 'Available', type: 'string', jsonPath: ".status.conditions[?(@.type=='Available')].status", description: 'Available condition' },
              { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            ],
          },
        ],
      },
    });
  }
}
