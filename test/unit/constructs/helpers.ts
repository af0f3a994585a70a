// Synthesizes charts in memory for assertions.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { buildApp } from '../../../main';
import { parseStackConfig, StackConfig } from '../../../constructs/config';

/** Synthesizes into a temp dir and returns each file's text, keyed by file name. */
export function synthFiles(config: StackConfig = parseStackConfig({})): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'synth-'));
  try {
    buildApp(config, dir).synth();
    return Object.fromEntries(
      readdirSync(dir)
        .sort()
        .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type Obj = Record<string, any>;

export function objectsOf(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter(Boolean);
}

export function allObjects(config?: StackConfig): Obj[] {
  return Object.values(synthFiles(config)).flatMap(objectsOf);
}

/** The pod spec of a Pod or of a workload's template, or undefined for other kinds. */
export function podSpecOf(o: Obj): Obj | undefined {
  if (o.kind === 'Pod') return o.spec;
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(o.kind)) return o.spec.template.spec;
  return undefined;
}
