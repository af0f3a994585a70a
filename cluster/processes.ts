// Process supervision for the control plane: one child process per component with its own
// log file, a clear error when one dies, free loopback ports, and cleanup that runs however
// the owning process ends (exit hooks, and a shell watchdog for SIGKILL).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';

/** A long-running child process whose stdout and stderr go to `logPath`. */
export class Component {
  child?: ChildProcess;
  exited?: Promise<void>;
  exitStatus?: string;

  constructor(
    readonly name: string,
    readonly argv: string[],
    readonly logPath: string,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** Spawns the process; `onChange` runs when it starts and when it exits. */
  start(onChange: () => void): void {
    const fd = openSync(this.logPath, 'a');
    writeFileSync(fd, `\n=== ${new Date().toISOString()} ${this.argv.join(' ')}\n`);
    let child: ChildProcess;
    try {
      child = spawn(this.argv[0], this.argv.slice(1), { stdio: ['ignore', fd, fd], env: this.env });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    this.exitStatus = undefined;
    this.exited = new Promise((done) => {
      child.once('error', (err) => {
        this.exitStatus = `failed to start: ${err.message}`;
        done();
        onChange();
      });
      child.once('exit', (code, signal) => {
        this.exitStatus = signal ? `killed by ${signal}` : `exited with code ${code}`;
        done();
        onChange();
      });
    });
    onChange();
  }

  get running(): boolean {
    return this.child !== undefined && this.exitStatus === undefined;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** Sends `signal` (SIGKILL after `graceMs` unless it is SIGKILL already) and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGKILL', graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child!.kill(signal);
    if (signal !== 'SIGKILL') {
      const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await this.exited;
  }

  killSync(): void {
    if (this.running) this.child!.kill('SIGKILL');
  }

  tail(lines = 25): string {
    try {
      return readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

export class ComponentExitedError extends Error {
  constructor(readonly component: Component) {
    super(`${component.name} ${component.exitStatus}; last log lines (${component.logPath}):\n${component.tail()}`);
  }
}

/** For waitFor's `check`: throws ComponentExitedError as soon as one of `components` is gone. */
export function failIfExited(components: readonly Component[]): () => void {
  return () => {
    for (const c of components) if (c.exitStatus !== undefined) throw new ComponentExitedError(c);
  };
}

/** For waitFor's `details`: the last log lines of each of `components`. */
export function logTails(components: readonly Component[], lines = 15): () => string {
  return () => components.map((c) => `--- ${c.name} (${c.logPath}):\n${c.tail(lines)}`).join('\n');
}

/** Whether `err` is a component that died because its port was taken meanwhile. */
export const isPortClash = (err: unknown) =>
  err instanceof ComponentExitedError && /address already in use/i.test(err.component.tail(60));

/** A loopback port nobody listens on right now (it may be taken before it is used: see isPortClash). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', fail);
    srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => done(port));
    });
  });
}

/** A plain-HTTP request (etcd's client port); resolves with any status. */
export function httpRequest(
  url: string,
  method = 'GET',
  body?: string,
  timeoutMs = 2000,
): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = http.request(url, { method, timeout: timeoutMs, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => done({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', fail);
    req.end(body);
  });
}

/** Something to kill synchronously when this process exits or is signalled. */
export interface Killable {
  killSync(): void;
}

const live = new Set<Killable>();
let exitHooksInstalled = false;

/** Kills `k` when this process exits or gets SIGINT/SIGTERM/SIGHUP, until `forget(k)`. */
export function killOnExit(k: Killable): void {
  live.add(k);
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => {
    for (const x of live) x.killSync();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      for (const x of live) x.killSync();
      // Behave as if we had not listened: die of the same signal unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, onSignal);
  }
}

export function forget(k: Killable): void {
  live.delete(k);
}

/**
 * A shell watchdog outliving this process: if this process dies without cleaning up (SIGKILL,
 * jest worker killed on timeout…), it kills the pids listed in `dir`/pids and removes `dir`.
 * It exits by itself once `dir` is gone.
 */
export function startReaper(dir: string): void {
  const script =
    'while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done; ' +
    '[ -f "$2/pids" ] && kill -9 $(cat "$2/pids") 2>/dev/null; rm -rf "$2"';
  const child = spawn('/bin/sh', ['-c', script, 'kube-cp-reaper', String(process.pid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
}
