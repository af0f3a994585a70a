// Shell scripts and configuration templates live beside the constructs as real files (so
// shellcheck and people read them as what they are) and are imported as text. Why an import
// and not a read at run time: the synth and the operator run as esbuild bundles under .build/
// and build/ (scripts/bundle.mjs), where no path relative to the source exists, and tests run
// the sources under ts-jest; esbuild's `text` loader puts the file into the bundle and
// scripts/jest-text-transform.cjs does the same for jest, so all three see the same string.
declare module '*.sh' {
  const text: string;
  export default text;
}
declare module '*.cfg' {
  const text: string;
  export default text;
}
