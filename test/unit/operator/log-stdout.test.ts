// operator/runtime/log.ts writes standard output once per event-loop turn; this checks, in a
// real process, that lines keep their order and that none is lost when the process exits
// right after logging (process.exit from the same turn).
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = process.cwd();

describe('the default log writer', () => {
  it('writes every line, in order, also when the process exits in the same turn', () => {
    const entry = join(ROOT, `.log-stdout-${process.pid}.ts`);
    writeFileSync(
      entry,
      [
        `import { createLogger } from './operator/runtime/log';`,
        `const log = createLogger({ name: 't' });`,
        `log.info('first', { n: 0 });`,
        `setTimeout(() => {`,
        `  for (let i = 1; i <= 500; i++) log.info('line', { n: i, objects: ['a', 'b'] });`,
        `  log.error('failed', new Error('boom'), { n: 501 });`,
        `  process.exit(0);`,
        `}, 50);`,
      ].join('\n'),
    );
    let out: string;
    try {
      out = execFileSync(process.execPath, [join(ROOT, 'scripts/run-ts.mjs'), entry], { encoding: 'utf8' });
    } finally {
      rmSync(entry, { force: true });
    }
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.n)).toEqual(Array.from({ length: 502 }, (_, i) => i));
    expect(lines[1]).toMatchObject({ level: 'info', logger: 't', msg: 'line', objects: ['a', 'b'] });
    expect(lines[501]).toMatchObject({ level: 'error', msg: 'failed', error: 'boom' });
  });
});
