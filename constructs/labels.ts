// Label sets. Selectors are always built from these explicit labels (workloads use
// `select: false`), never from cdk8s-plus's construct-path label, so renaming a construct can
// never change an immutable selector.

export const PART_OF = 'kube-tutorial-stack';
export const MANAGED_BY = 'cdk8s';

export interface AppLabels {
  /** app.kubernetes.io/name: what the application is, e.g. `redis`. */
  readonly name: string;
  /** app.kubernetes.io/instance: which installation, unique in the namespace. */
  readonly instance: string;
  /** app.kubernetes.io/component, e.g. `cache`, `controller`. */
  readonly component?: string;
  /** app.kubernetes.io/version: usually the image tag. */
  readonly version?: string;
  readonly managedBy?: string;
}

/** The minimal, immutable set used in selectors: name + instance. */
export function selectorLabels(l: AppLabels): Record<string, string> {
  return { 'app.kubernetes.io/name': l.name, 'app.kubernetes.io/instance': l.instance };
}

/** The full recommended set for metadata (selector labels plus descriptive ones). */
export function recommendedLabels(l: AppLabels): Record<string, string> {
  const out: Record<string, string> = { ...selectorLabels(l) };
  if (l.component) out['app.kubernetes.io/component'] = l.component;
  if (l.version) out['app.kubernetes.io/version'] = labelValue(l.version);
  out['app.kubernetes.io/part-of'] = PART_OF;
  out['app.kubernetes.io/managed-by'] = l.managedBy ?? MANAGED_BY;
  return out;
}

/** The tag part of an image reference, for the version label (digest wins over tag). */
export function imageVersion(image: string): string {
  const at = image.indexOf('@');
  if (at >= 0)
    return image
      .slice(at + 1)
      .replace(/^sha256:/, '')
      .slice(0, 12);
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  return colon >= 0 ? image.slice(colon + 1) : '';
}

/** Label values: at most 63 chars of [A-Za-z0-9_.-], starting and ending alphanumeric. */
export function labelValue(v: string): string {
  return v
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}
