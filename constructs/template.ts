// Fills the `@NAME@` placeholders of a script or configuration template (a real file beside its
// construct, imported as text). Both directions are checked, so a placeholder renamed on one
// side fails synth instead of shipping a literal "@QUORUM@" into a pod.
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
