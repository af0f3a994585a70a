// The operand of a Memcached object depends on its identity (name, namespace, uid) and on its
// shape (API version, size, port, image). Objects of one shape differ only in identity, so the
// construct is synthesized once per shape with stand-in identity values, and each object gets
// a copy with its own values put where the stand-ins are. Building the cdk8s tree was the
// largest part of a reconcile in the N = 1000 CPU profile (about 8 % of the operator's busy
// time, two renders per object: create and resize).
//
// The copy is only used when it is certainly what the construct would render: names longer
// than 63 characters (whose label value the construct hashes) and any rendering in which a
// stand-in appears inside a longer string (a derived value the copy cannot fill) are rendered
// directly. test/unit/operator/memcached/operand-templates.test.ts compares both ways.
import { renderMemcachedOperand, type MemcachedOwner, type RenderedOperand } from '../../constructs/memcached-operand';

/**
 * Stand-in identity: valid as a name, a namespace and a label value, unlikely anywhere else,
 * and none part of another.
 */
const STAND_IN = {
  name: 'zz-template-objname',
  namespace: 'zz-template-objns',
  uid: 'zz-template-objuid',
} as const;

/** Shapes kept at most (sizes × ports × images in use); the map is cleared when it is full. */
const MAX_SHAPES = 64;

export class OperandTemplates {
  /** per shape: the rendering with stand-ins, or null when it cannot be filled in */
  private readonly templates = new Map<string, RenderedOperand | null>();
  /** renderings made by filling in a template, and by the construct itself */
  readonly counts = { filled: 0, direct: 0 };

  constructor(private readonly image: string) {}

  render(owner: MemcachedOwner, size: number, containerPort: number): RenderedOperand {
    const direct = () => {
      this.counts.direct++;
      return renderMemcachedOperand({ owner, spec: { size, containerPort }, image: this.image });
    };
    if (owner.name.length > 63) return direct();
    const shape = `${owner.apiVersion}\n${size}\n${containerPort}`;
    let template = this.templates.get(shape);
    if (template === undefined) {
      if (this.templates.size >= MAX_SHAPES) this.templates.clear();
      template = renderMemcachedOperand({
        owner: { ...STAND_IN, apiVersion: owner.apiVersion },
        spec: { size, containerPort },
        image: this.image,
      });
      if (!fillable(template)) template = null;
      this.templates.set(shape, template);
    }
    if (!template) return direct();
    const values: Record<string, string> = {
      [STAND_IN.name]: owner.name,
      [STAND_IN.namespace]: owner.namespace,
      [STAND_IN.uid]: owner.uid,
    };
    this.counts.filled++;
    return fill(template, values) as RenderedOperand;
  }
}

/** False when a stand-in is part of a longer string, a value or a key (derived from the identity). */
function fillable(value: unknown): boolean {
  if (typeof value === 'string') {
    return !Object.values(STAND_IN).some((s) => value !== s && value.includes(s));
  }
  if (Array.isArray(value)) return value.every(fillable);
  if (value && typeof value === 'object') {
    return Object.entries(value).every(([k, v]) => fillable(k) && fillable(v));
  }
  return true;
}

/**
 * `value` with every string equal to a key of `values` replaced by its value. Objects and arrays
 * that hold no stand-in (containers, probes, security context: most of a Deployment) are the
 * template's own, shared by every object of the shape and frozen; only those on the way to a
 * stand-in are copied. The reconciler keeps one rendering per object: 1000 of them took 2.9 MiB
 * of heap as deep copies, 1.6 MiB so.
 */
function fill(value: unknown, values: Record<string, string>): unknown {
  if (typeof value === 'string') return values[value] ?? value;
  if (!value || typeof value !== 'object' || !holdsStandIn(value)) return value;
  if (Array.isArray(value)) return value.map((v) => fill(v, values));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[values[k] ?? k] = fill(v, values);
  return out;
}

const STAND_INS = new Set<unknown>(Object.values(STAND_IN));
/** Per template object or array: whether a stand-in is somewhere inside (a key or a value). */
const holders = new WeakMap<object, boolean>();

function holdsStandIn(value: object): boolean {
  let held = holders.get(value);
  if (held === undefined) {
    held = Object.entries(value).some(
      ([k, v]) => STAND_INS.has(k) || STAND_INS.has(v) || (v !== null && typeof v === 'object' && holdsStandIn(v)),
    );
    holders.set(value, held);
    // what is not copied is shared: nobody may change it
    if (!held) Object.freeze(value);
  }
  return held;
}
