// Script and configuration files beside the constructs (imported as text): fill their `@NAME@`
// placeholders, and hash what a pod mounts so a change rolls it. Placeholders are checked both
// ways, so one renamed on one side fails synth instead of shipping a literal "@QUORUM@".
import { createHash } from 'node:crypto';

const PLACEHOLDER = /@([A-Z][A-Z0-9_]*)@/g;

export function fillTemplate(file: string, template: string, values: Record<string, string | number>): string {
  const used = new Set<string>();
  const missing = new Set<string>();
  const text = template.replace(PLACEHOLDER, (whole, name: string) => {
    if (!(name in values)) {
      missing.add(name);
      return whole;
    }
    used.add(name);
    return String(values[name]);
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (missing.size > 0 || unused.length > 0) {
    const problems = [
      ...[...missing].map((n) => `@${n}@ has no value`),
      ...unused.map((n) => `value ${n} has no @${n}@ placeholder`),
    ];
    throw new Error(`template ${file}: ${problems.join('; ')}`);
  }
  return text;
}

/**
 * The `checksum/config` annotation value for a pod template: a hash of the ConfigMap data its
 * pods mount, so a change to a script or config rolls the pods. Keys are hashed in sorted
 * order (as the rendered ConfigMap lists them), so anyone can recompute it from the manifest.
 */
export function configChecksum(data: Record<string, string>): string {
  const sorted = Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}
