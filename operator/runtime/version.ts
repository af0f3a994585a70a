// The operator's version: package.json's `version`, written into the bundle by
// scripts/bundle.mjs (esbuild `define`), so the image, which ships only the bundle, knows it.
// Unbundled (ts-jest), it is read from package.json next to the sources.
import { readFileSync } from 'node:fs';

declare const __OPERATOR_VERSION__: string | undefined;

function packageVersion(): string {
  try {
    const url = new URL('../../package.json', import.meta.url);
    return String(JSON.parse(readFileSync(url, 'utf8')).version);
  } catch {
    return 'unknown';
  }
}

export const VERSION: string = typeof __OPERATOR_VERSION__ === 'string' ? __OPERATOR_VERSION__ : packageVersion();
