// Small process helpers for the pod-process runner and the Redis suites: run a command with a
// time limit, quote for sh, check the real-process prerequisites. (Waiting: wait.ts.)
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` (no shell) and resolves with its output; kills it after `timeoutMs`. */
export function run(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      {
        timeout: opts.timeoutMs ?? 10_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        env: opts.env ?? process.env,
      },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number'
            ? (err as unknown as { code: number }).code
            : null
          : 0;
        resolve({
          code,
          stdout: String(stdout),
          stderr: String(stderr) + (err && code === null ? `\n${err.message}` : ''),
        });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Whether the tools the harness needs are installed; lists what is missing. */
export function missingTools(extra: string[] = []): string[] {
  const tools = ['redis-server', 'redis-cli', ...extra];
  const dirs = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  return tools.filter((t) => !dirs.some((d) => existsSync(`${d}/${t}`)));
}

/**
 * Whether the real-process suite (redis-maxmemory: redis-server in a memory cgroup) can run
 * here. It needs root (cgroups) and the Redis binaries (scripts/install-redis.sh). In CI (CI=true) a missing prerequisite
 * is an error, not a skip.
 */
export function realProcessPrereqs(extra: string[] = []): { ok: boolean; reason: string } {
  const missing = missingTools(extra);
  const root = process.getuid?.() === 0;
  const reasons = [
    ...(missing.length ? [`missing ${missing.join(', ')} (run scripts/install-redis.sh)`] : []),
    ...(root ? [] : ['not root (memory cgroups need it)']),
  ];
  if (reasons.length && process.env.CI === 'true') {
    throw new Error(`Redis real-process tests cannot run in CI: ${reasons.join('; ')}`);
  }
  return { ok: reasons.length === 0, reason: reasons.join('; ') };
}
