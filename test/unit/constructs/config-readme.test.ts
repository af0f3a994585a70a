// The README's "Configuration" section against the code: every schema field has a row of the
// table, every row names real fields, every default shown is the schema's default, and the
// example configuration and error message are what synth really takes and prints.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildApp } from '../../../main';
import { parseStackConfig, stackSchema } from '../../../constructs/config';
import { RELEASE_VERSION } from '../../../constructs/release';

const README = readFileSync(join(process.cwd(), 'README.md'), 'utf8');
const section = README.slice(
  README.indexOf('\n## Configuration\n'),
  README.indexOf('\n## ', README.indexOf('\n## Configuration\n') + 5),
);

interface Row {
  /** Full dotted paths; a path ending in `.*` stands for everything below it. */
  readonly fields: string[];
  readonly defaults: string[];
  readonly line: string;
}

/** `a.b.c` / `.d` / `.e` → a.b.c, a.b.d, a.b.e */
function rows(): Row[] {
  return section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((line) => {
      const [fieldCell, defaultCell] = line.split(' | ').map((c) => c.replace(/^\| /, ''));
      const names = fieldCell.split(' / ').map((f) => f.replace(/`/g, '').trim());
      const parent = names[0].split('.').slice(0, -1).join('.');
      const fields = names.map((n, i) => (i === 0 ? n : `${parent}${n}`));
      return { fields, defaults: defaultCell.split(' / ').map((d) => d.trim()), line };
    });
}

/** Every leaf path of a zod schema, descending through defaults, optionals and pipes. */
function leafPaths(schema: any, path = ''): string[] {
  const def = schema._zod.def;
  if (['default', 'prefault', 'optional', 'nullable', 'readonly'].includes(def.type))
    return leafPaths(def.innerType, path);
  if (def.type === 'pipe') return leafPaths(def.out, path);
  if (def.type === 'object')
    return Object.entries(def.shape).flatMap(([k, v]) => leafPaths(v, path ? `${path}.${k}` : k));
  return [path];
}

const covers = (field: string, path: string) =>
  field.endsWith('.*') ? path.startsWith(field.slice(0, -1)) : path === field || path.startsWith(`${field}.`);

/** The value a default cell shows: `value` (YAML), "requests a/b, limits c/d", or "cluster default" (unset). */
function shownDefault(cell: string): unknown {
  const res = cell.match(/^requests (\S+)\/(\S+), limits (\S+)\/(\S+)$/);
  if (res) return { requests: { cpu: res[1], memory: res[2] }, limits: { cpu: res[3], memory: res[4] } };
  if (cell === 'cluster default') return undefined;
  const code = cell.match(/^`([^`]*)`/);
  if (!code) throw new Error(`cannot read the default "${cell}"`);
  // `<version>` stands for the release version (package.json's), so a bump needs no README edit.
  return parse(code[1].replaceAll('<version>', RELEASE_VERSION));
}

const valueAt = (obj: any, path: string) => path.split('.').reduce((o, k) => o?.[k], obj);

describe('README configuration table', () => {
  const table = rows();
  const leaves = leafPaths(stackSchema);

  it('has rows, and the schema has fields', () => {
    expect(table.length).toBeGreaterThan(15);
    expect(leaves).toEqual(
      expect.arrayContaining([
        'clusterDomain',
        'redis.ha.name',
        'memcached.sample.containerPort',
        'redis.resources.requests.cpu',
      ]),
    );
  });

  it('documents every field of the schema', () => {
    const undocumented = leaves.filter((p) => !table.some((r) => r.fields.some((f) => covers(f, p))));
    expect(undocumented).toEqual([]);
  });

  it('names only fields that exist', () => {
    const unknown = table.flatMap((r) => r.fields).filter((f) => !leaves.some((p) => covers(f, p)));
    expect(unknown).toEqual([]);
  });

  it("shows the schema's default for every field it gives one for", () => {
    const defaults = parseStackConfig({});
    const wrong = table
      .filter((r) => !r.fields.some((f) => f.endsWith('.*')))
      .flatMap((r) => {
        if (r.defaults.length !== r.fields.length)
          return [`${r.line}: ${r.fields.length} fields but ${r.defaults.length} defaults`];
        return r.fields
          .map((f, i) => ({
            field: f,
            shown: shownDefault(r.defaults[i].replace(/ \(all\)$/, '')),
            actual: valueAt(defaults, f),
          }))
          .filter((x) => JSON.stringify(x.shown) !== JSON.stringify(x.actual))
          .map(
            (x) => `${x.field}: README shows ${JSON.stringify(x.shown)}, the schema has ${JSON.stringify(x.actual)}`,
          );
      });
    expect(wrong).toEqual([]);
  });

  it('the reader of defaults can fail', () => {
    expect(shownDefault('`3`')).toBe(3);
    expect(shownDefault('requests 1m/2Mi, limits 3m/4Mi')).toEqual({
      requests: { cpu: '1m', memory: '2Mi' },
      limits: { cpu: '3m', memory: '4Mi' },
    });
    expect(() => shownDefault('whatever')).toThrow('cannot read the default');
  });
});

describe('README configuration examples', () => {
  it('the example stack.yaml synthesizes', () => {
    const example = section.split('Example `stack.yaml`:')[1].match(/```yaml\n([\s\S]*?)```/)![1];
    const config = parseStackConfig(parse(example));
    expect(config.memcached.operator.watchNamespaces).toEqual(['team-a', 'team-b']);
    expect(config.redis.resources.limits).toEqual({ cpu: '1', memory: '256Mi' });
    const dir = mkdtempSync(join(tmpdir(), 'readme-example-'));
    try {
      expect(() => buildApp(config, dir).synth()).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the first error message is the one synth prints for that field', () => {
    const shown = section.match(/```text\n([\s\S]*?)```/)![1].trim();
    let message = '';
    try {
      parseStackConfig({ redis: { deployment: { replicas: -1 } } });
    } catch (err) {
      message = `synth failed: ${(err as Error).message}`;
    }
    expect(shown).toBe(message);
  });

  it('the clash message is the one synth prints (up to its elisions)', () => {
    const shown = section.match(/```text\n[\s\S]*?```[\s\S]*?```text\n([\s\S]*?)```/)![1].trim();
    const dir = mkdtempSync(join(tmpdir(), 'readme-clash-'));
    let message = '';
    try {
      buildApp(parseStackConfig({ redis: { pod: { name: 'redis-deployment' } } }), dir);
    } catch (err) {
      message = `synth failed: ${(err as Error).message}`;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Each part between the elisions (…) appears in order in one line of the real message.
    const [first, problem] = shown.split('\n');
    const parts = problem
      .split('…')
      .map((p) => p.trim())
      .filter(Boolean);
    const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(parts.length).toBeGreaterThan(1);
    expect(message.split('\n')[0]).toBe(first);
    expect(message.split('\n')).toContainEqual(
      expect.stringMatching(new RegExp(`^ {2}${parts.map(escape).join('.*')}`)),
    );
  });
});
