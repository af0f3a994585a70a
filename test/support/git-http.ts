// Serves Git repositories read-only over smart HTTP on 127.0.0.1, the way a Git host does for
// a GitOps engine: a small node:http server that hands each request to `git http-backend`
// (shipped with git, /usr/lib/git-core on Debian) as a CGI program and streams its answer back.
// Pushes are refused (http-backend allows receive-pack only to authenticated users); tests
// push to the served repository through the file system.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface GitHttpServer {
  /** http://127.0.0.1:<port>; a repository `<root>/x.git` is at `${url}/x.git` */
  readonly url: string;
  /** requests served so far, e.g. `GET /repo.git/info/refs?service=git-upload-pack 200` */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

/** Where `git http-backend` is: `git --exec-path` names git's helper directory. */
export function gitHttpBackend(): string {
  const res = spawnSync('git', ['--exec-path'], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`git is needed to serve repositories: ${res.error?.message ?? res.stderr}`);
  const path = join(res.stdout.trim(), 'git-http-backend');
  if (!existsSync(path)) throw new Error(`git http-backend not found at ${path}`);
  return path;
}

/** Serves every repository under `root` (GIT_PROJECT_ROOT) until close(). */
export async function serveGitRepositories(root: string): Promise<GitHttpServer> {
  const backend = gitHttpBackend();
  const requests: string[] = [];

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
    };
    if (req.headers['content-length'] !== undefined) env.CONTENT_LENGTH = req.headers['content-length'];
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding']);
    if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);

    const cgi = spawn(backend, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    cgi.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    req.pipe(cgi.stdin);
    cgi.stdin.on('error', () => undefined); // the backend may answer before reading the whole body

    // The CGI answer: header lines, a blank line, then the body, which is streamed on.
    let head = Buffer.alloc(0);
    let headersSent = false;
    let status = 0;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersSent) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const text = head.toString('latin1');
      const crlf = text.indexOf('\r\n\r\n');
      const lf = text.indexOf('\n\n');
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
      if (end < 0) return;
      status = 200;
      for (const line of text.slice(0, end).split(/\r?\n/).filter(Boolean)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
        else res.setHeader(name, value);
      }
      res.writeHead(status);
      headersSent = true;
      res.write(head.subarray(end));
    });
    cgi.once('error', (err) => {
      if (!headersSent) res.writeHead(500).end(`git http-backend: ${err.message}\n`);
    });
    cgi.once('close', (code) => {
      requests.push(`${req.method} ${req.url} ${headersSent ? status : 500}`);
      if (!headersSent) res.writeHead(500).end(`git http-backend exited with ${code}: ${stderr}\n`);
      else res.end();
    });
  });

  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen({ host: '127.0.0.1', port: 0 }, done);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
