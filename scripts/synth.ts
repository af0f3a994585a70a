// `npm run synth`: validate the configuration, build every chart, and only then replace the
// YAML in the output directory (dist/, or CDK8S_OUTDIR when run by `cdk8s synth`). A failure
// prints the fields at fault and leaves the previous output untouched.
import { mkdtempSync, readdirSync, renameSync, rmSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { buildApp, loadConfig } from '../main';
import { ConfigError } from '../constructs/validation';

const outdir = resolve(process.env.CDK8S_OUTDIR ?? 'dist');

try {
  const config = loadConfig();
  mkdirSync(dirname(outdir), { recursive: true });
  const staging = mkdtempSync(join(dirname(outdir), '.synth-'));
  try {
    buildApp(config, staging).synth();
    mkdirSync(outdir, { recursive: true });
    for (const f of readdirSync(outdir)) if (f.endsWith('.k8s.yaml')) rmSync(join(outdir, f));
    for (const f of readdirSync(staging)) renameSync(join(staging, f), join(outdir, f));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`synth failed: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
