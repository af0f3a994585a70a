// Optional construct props over their documented defaults.

/**
 * `props` with every prop that is absent or `undefined` taken from `defaults` (a plain spread
 * would let an explicit `undefined` erase a default).
 */
export function withDefaults<P extends object, D extends Partial<P>>(defaults: D, props: P): P & D {
  const given = Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined));
  return { ...defaults, ...given } as P & D;
}
