// cluster/wait.ts, the project's one polling loop (tests reach it through test/support/wait.ts).
import { describe, expect, it } from '@jest/globals';
import { waitFor } from '../../../cluster/wait';

describe('waitFor', () => {
  it('resolves with the first value that is not undefined, null or false', async () => {
    const answers: unknown[] = [undefined, null, false, 0];
    let calls = 0;
    const v = await waitFor('a value', async () => answers[calls++] as number | undefined, { intervalMs: 1 });
    // 0 and '' are values: only undefined, null and false mean "not yet"
    expect(v).toBe(0);
    expect(calls).toBe(4);
  });

  it('takes a probe that throws as "not yet" and names the last error on timeout', async () => {
    let calls = 0;
    const err = await waitFor(
      'the moon',
      () => {
        calls++;
        throw new Error(`no moon (${calls})`);
      },
      { timeoutMs: 30, intervalMs: 5 },
    ).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^timed out after 30 ms waiting for the moon \(no moon \(\d+\)\)$/);
    expect(calls).toBeGreaterThan(1);
    expect((err as Error).message).toContain(`(${calls})`);
  });

  it('reports the last result when the probe never threw, and appends details', async () => {
    const err = await waitFor('ready', async () => false, {
      timeoutMs: 10,
      intervalMs: 2,
      details: () => 'log tail',
    }).catch((e: Error) => e);
    expect((err as Error).message).toBe('timed out after 10 ms waiting for ready (last result: false)\nlog tail');
  });

  it('stops at once when check throws, without calling the probe again', async () => {
    let calls = 0;
    let dead = false;
    const started = Date.now();
    const err = await waitFor(
      'x',
      async () => {
        calls++;
        dead = true;
        return undefined;
      },
      {
        timeoutMs: 10_000,
        intervalMs: 1,
        check: () => {
          if (dead) throw new Error('etcd exited with code 1');
        },
      },
    ).catch((e: Error) => e);
    expect((err as Error).message).toBe('etcd exited with code 1');
    expect(calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('doubles the pause up to maxIntervalMs', async () => {
    const at: number[] = [];
    await waitFor('five calls', async () => (at.push(Date.now()) >= 5 ? true : undefined), {
      intervalMs: 10,
      maxIntervalMs: 40,
    });
    const gaps = at.slice(1).map((t, i) => t - at[i]);
    // pauses 10, 20, 40, 40 ms: timers never fire early
    expect(gaps[1]).toBeGreaterThanOrEqual(19);
    expect(gaps[2]).toBeGreaterThanOrEqual(39);
    expect(gaps[3]).toBeGreaterThanOrEqual(39);
    expect(gaps.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(108);
  });

  it('rejects a bad timeout or interval with a clear error', async () => {
    await expect(waitFor('x', async () => true, { intervalMs: 0 })).rejects.toThrow(
      'waitFor x: bad timeoutMs 30000 or intervalMs 0',
    );
    await expect(waitFor('x', async () => true, { timeoutMs: Number.NaN })).rejects.toThrow(/bad timeoutMs NaN/);
  });
});
