// Checks across stacks, on the objects the app really builds. Each stack is valid on its own,
// but two of them in one namespace can still clash: the same object twice (two files fighting
// over one StatefulSet), or a Service, workload, PodDisruptionBudget or NetworkPolicy of one
// stack selecting another stack's pods (the tutorial Pod behind the Deployment's Service). Both are reported
// as configuration errors naming the fields that chose those names and namespaces.

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests and zod internals are untyped JSON */
/** The objects of one stack and the configuration fields that name them. */
export interface StackObjects {
  /** How messages name the stack, e.g. its file in dist/. */
  readonly label: string;
  /** The field that chooses the stack's object names (absent: the names are fixed). */
  readonly nameField?: string;
  /** The field that chooses the stack's namespace. */
  readonly namespaceField: string;
  readonly objects: readonly Record<string, any>[];
}

// Labels the controllers add to pods themselves; a selector on them (the StatefulSet master
// Service's pod-name) is compared on its other labels.
const CONTROLLER_LABELS = new Set([
  'statefulset.kubernetes.io/pod-name',
  'pod-template-hash',
  'controller-revision-hash',
  'apps.kubernetes.io/pod-index',
]);

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'ReplicationController']);

const describe = (o: Record<string, any>) => `${o.kind} "${o.metadata?.name}"`;
const groupOf = (apiVersion = '') => (apiVersion.includes('/') ? apiVersion.split('/')[0] : '');

/** Label sets of the pods a stack runs: its Pods and its workloads' pod templates. */
function podLabels(stack: StackObjects): { owner: Record<string, any>; labels: Record<string, string> }[] {
  return stack.objects.flatMap((o) => {
    if (o.kind === 'Pod') return [{ owner: o, labels: o.metadata?.labels ?? {} }];
    if (WORKLOADS.has(o.kind)) return [{ owner: o, labels: o.spec?.template?.metadata?.labels ?? {} }];
    return [];
  });
}

/** Equality selectors of a stack: Services, workloads, PodDisruptionBudgets and NetworkPolicies. */
function selectors(stack: StackObjects): { owner: Record<string, any>; selector: Record<string, string> }[] {
  return stack.objects.flatMap((o) => {
    const raw =
      o.kind === 'Service'
        ? o.spec?.selector
        : o.kind === 'NetworkPolicy'
          ? o.spec?.podSelector?.matchLabels
          : WORKLOADS.has(o.kind) || o.kind === 'PodDisruptionBudget'
            ? o.spec?.selector?.matchLabels
            : undefined;
    if (!raw) return [];
    const selector = Object.fromEntries(Object.entries<string>(raw).filter(([k]) => !CONTROLLER_LABELS.has(k)));
    return Object.keys(selector).length > 0 ? [{ owner: o, selector }] : [];
  });
}

const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The fields behind a clash between two stacks: their name fields, and namespace fields when they differ. */
function fieldsOf(a: StackObjects, b: StackObjects): string {
  const fields = [a.nameField, b.nameField];
  if (a.namespaceField !== b.namespaceField) fields.push(a.namespaceField, b.namespaceField);
  return [...new Set(fields.filter((f): f is string => f !== undefined))].join(', ') || a.namespaceField;
}

/** One message per pair of clashing stacks; empty when the stacks can live side by side. */
export function stackConflicts(stacks: readonly StackObjects[]): string[] {
  const problems: string[] = [];
  const namespaceOf = (o: Record<string, any>) => o.metadata?.namespace ?? '';
  for (let i = 0; i < stacks.length; i++) {
    for (let j = i + 1; j < stacks.length; j++) {
      const [a, b] = [stacks[i], stacks[j]];
      // The same object from both stacks.
      const keyOf = (o: Record<string, any>) =>
        `${namespaceOf(o)}\0${groupOf(o.apiVersion)}\0${o.kind}\0${o.metadata?.name}`;
      const inB = new Map(b.objects.map((o) => [keyOf(o), o]));
      const byNamespace = new Map<string, string[]>();
      for (const o of a.objects) {
        if (!inB.has(keyOf(o))) continue;
        byNamespace.set(namespaceOf(o), [...(byNamespace.get(namespaceOf(o)) ?? []), describe(o)]);
      }
      for (const [ns, objs] of byNamespace) {
        const where = ns ? ` in namespace "${ns}"` : ' (cluster-scoped)';
        problems.push(
          `${fieldsOf(a, b)}: ${a.label} and ${b.label} both create ${objs.join(', ')}${where}; give the stacks different names`,
        );
      }
      // A selector of one stack matching the pods of the other, in the same namespace.
      const overlaps = new Map<string, string[]>();
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const) {
        for (const s of selectors(x)) {
          for (const p of podLabels(y)) {
            const ns = namespaceOf(s.owner);
            if (ns !== namespaceOf(p.owner) || !selects(s.selector, p.labels)) continue;
            overlaps.set(ns, [
              ...(overlaps.get(ns) ?? []),
              `${describe(s.owner)} of ${x.label} selects the pods of ${describe(p.owner)} of ${y.label}`,
            ]);
          }
        }
      }
      for (const [ns, found] of overlaps) {
        problems.push(`${fieldsOf(a, b)}: in namespace "${ns}", ${found.join('; ')}; give the stacks different names`);
      }
    }
  }
  return problems;
}
