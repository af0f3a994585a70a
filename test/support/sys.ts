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

/** Like `run` but throws (with the output) unless the command exits 0. */
export async function must(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** Resolves like `p`, or rejects with `message` after `ms` (the timer never outlives `p`). */
export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** Single-quotes a string for POSIX sh. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Whether the tools the harness needs are installed; lists what is missing. */
export function missingTools(extra: string[] = []): string[] {
  const tools = ['redis-server', 'redis-cli', 'ip', 'unshare', 'nsenter', 'setpriv', 'chroot', 'pgrep', ...extra];
  const dirs = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  return tools.filter((t) => !dirs.some((d) => existsSync(`${d}/${t}`)));
}

/**
 * Whether the real-process suites can run here. They need root (network and mount namespaces)
 * and the Redis binaries (scripts/install-redis.sh). In CI (CI=true) a missing prerequisite
 * is an error, not a skip.
 */
export function realProcessPrereqs(extra: string[] = []): { ok: boolean; reason: string } {
  const missing = missingTools(extra);
  const root = process.getuid?.() === 0;
  const reasons = [
    ...(missing.length ? [`missing ${missing.join(', ')} (run scripts/install-redis.sh)`] : []),
    ...(root ? [] : ['not root (network and mount namespaces need it)']),
  ];
  if (reasons.length && process.env.CI === 'true') {
    throw new Error(`Redis real-process tests cannot run in CI: ${reasons.join('; ')}`);
  }
  return { ok: reasons.length === 0, reason: reasons.join('; ') };
}
