// Every shell script the constructs ship, linted with shellcheck (Debian's `shellcheck`
// package; scripts/install-redis.sh installs it): the script files beside the constructs, and
// every `sh -c` command in the synthesized manifests. A missing shellcheck fails the suite.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { allObjects } from './helpers';

const ROOT = process.cwd();
const CONSTRUCTS = join(ROOT, 'constructs');

interface Finding {
  line: number;
  code: number;
  message: string;
}

/**
 * shellcheck's findings for `text`. The scripts run under the images' `sh` (dash), so they are
 * checked as POSIX sh. SC3028 is off: HOSTNAME is not set by dash but by the container runtime,
 * which always sets it to the pod's host name.
 */
function shellcheck(text: string): Finding[] {
  const r = spawnSync('shellcheck', ['--shell=sh', '--exclude=SC3028', '--format=json1', '-'], {
    input: text,
    encoding: 'utf8',
  });
  if (r.error)
    throw new Error(
      `shellcheck is required for the unit tests and could not be run (${r.error.message}); install it: apt-get install shellcheck (scripts/install-redis.sh does)`,
    );
  if (r.status !== 0 && r.status !== 1) throw new Error(`shellcheck failed (exit ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout).comments.map((c: any) => ({ line: c.line, code: c.code, message: c.message }));
}

/** *.sh files under constructs/, relative to the repository root. */
function scriptFiles(dir = CONSTRUCTS): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return scriptFiles(path);
    return e.name.endsWith('.sh') ? [relative(ROOT, path)] : [];
  });
}

/** `. /etc/<dir>/<file>`: sourcing a sibling script from the same ConfigMap. */
const SOURCE = /^\. \/etc\/[a-z-]+\/([a-z-]+\.sh)$/gm;

/**
 * The script as the shell runs it: `. /etc/<dir>/<file>` (a sibling script from the same
 * ConfigMap) replaced by that file's text, so functions and variables it defines are known.
 */
function asRun(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8').replace(SOURCE, (_l, sibling: string) =>
    readFileSync(join(ROOT, dirname(file), sibling), 'utf8'),
  );
}

// Known findings, each with why it stays. Fixing one changes dist/, so it belongs in a commit
// that says so; this list then fails until the entry is removed.
const KNOWN: { file: string; code: number; message: string }[] = [
  // `ordinal` is set and never read (dead since the role choice moved to the Sentinels).
  {
    file: 'constructs/redis-ha/common.sh',
    code: 2034,
    message: 'ordinal appears unused. Verify use (or export if used externally).',
  },
];

/** The sibling scripts `file` sources. */
const sourced = (file: string) =>
  [...readFileSync(join(ROOT, file), 'utf8').matchAll(SOURCE)].map((m) => join(dirname(file), m[1]));

describe('shell scripts pass shellcheck', () => {
  const files = scriptFiles();
  // A library (sourced by other scripts) is checked inside each script that sources it, where
  // the variables it sets for them are used.
  const libraries = new Set(files.flatMap(sourced));
  const programs = files.filter((f) => !libraries.has(f));

  it('finds the script files, and every library is sourced by a checked script', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'constructs/redis-ha/common.sh',
        'constructs/redis-ha/redis-start.sh',
        'constructs/redis-ha/sentinel-start.sh',
        'constructs/redis-statefulset/start.sh',
      ]),
    );
    expect(programs).toEqual(
      expect.arrayContaining(['constructs/redis-ha/redis-start.sh', 'constructs/redis-ha/sentinel-start.sh']),
    );
    for (const lib of libraries) expect(files).toContain(lib);
  });

  it.each(programs)('%s (with the scripts it sources)', (file) => {
    const findings = shellcheck(asRun(file)).map(({ code, message }) => ({ file, code, message }));
    const known = KNOWN.filter((k) => k.file === file || sourced(file).includes(k.file)).map(({ code, message }) => ({
      file,
      code,
      message,
    }));
    expect(findings).toEqual(known);
  });

  const commands = allObjects().flatMap((o) => {
    const found: [string, string][] = [];
    const walk = (v: any, path: string): void => {
      if (Array.isArray(v)) {
        if (v[0] === 'sh' && v[1] === '-c' && typeof v[2] === 'string')
          found.push([`${o.kind}/${o.metadata.name}${path}`, v[2]]);
        v.forEach((x, i) => walk(x, `${path}[${i}]`));
      } else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
      }
    };
    walk(o, '');
    return found;
  });

  it('finds the `sh -c` commands of the manifests (probes, the StatefulSet start command)', () => {
    expect(commands.length).toBeGreaterThanOrEqual(10);
    expect(commands.map(([where]) => where)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^StatefulSet\/redis-ha\..*readinessProbe/)]),
    );
  });

  it.each(commands)('%s', (_where, script) => {
    expect(shellcheck(script)).toEqual([]);
  });
});
