// The operator bundle reaching the shared control plane with three kinds of credentials
// (operator/runtime/client/: access.ts, kubeconfig-loader.ts, transport.ts):
//   - a client certificate (inline data) and a ServiceAccount token file with relative paths:
//     the lean loader over node:https, the bundle alone in a directory (as in the image: no
//     node_modules, and without its client-node file, which these must not need);
//   - an exec plugin printing the ServiceAccount's token: client-node's KubeConfig, loaded
//     lazily from the bundle's separate client-node file.
// Each operator must log which loader it took, sync its caches and create a Memcached's
// Deployment (list, watch and server-side apply through that access).
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { installOperatorPrerequisites } from '../../cluster/operator-manifests';
import { dumpLogsOnFailure, startOperator, stopAll, type OperatorProcess } from '../../cluster/operator-process';
import { DEFAULT_OPERATOR_NAMESPACE, MEMCACHED_VERSION, memcachedGroup } from '../../constructs/memcached-api';
import { createTestNamespace, kubeConfig, sharedCluster, type TestNamespace } from '../support/shared';
import { waitFor } from '../support/wait';

const GROUP = memcachedGroup();
const OP_NS = DEFAULT_OPERATOR_NAMESPACE;
const kc = kubeConfig();
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const apps = kc.makeApiClient(k8s.AppsV1Api);

let ns: TestNamespace;
let dir: string;
let saToken: string;
const operators: OperatorProcess[] = [];

beforeAll(async () => {
  await installOperatorPrerequisites(process.env.TEST_KUBECONFIG!);
  ns = await createTestNamespace('rt-access');
  dir = mkdtempSync(join(tmpdir(), 'runtime-access-'));
  // The operator's own identity and rights (dist/'s RBAC): a bound token of its ServiceAccount.
  const sa = await sharedCluster().serviceAccountKubeconfig(OP_NS, 'memcached-operator', { create: false });
  saToken = parse(readFileSync(sa.path, 'utf8')).users[0].user.token;
});

afterEach(async () => {
  dumpLogsOnFailure(operators, expect.getState());
  await stopAll(operators.splice(0));
});

afterAll(async () => {
  await ns?.delete();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A kubeconfig for the shared cluster with `user`, its CA as a file next to it (relative path). */
function kubeconfig(name: string, user: object): string {
  copyFileSync(sharedCluster().pki.caCert, join(dir, 'ca.crt'));
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server: sharedCluster().server, 'certificate-authority': 'ca.crt' } }],
      users: [{ name, user }],
      contexts: [{ name, context: { cluster: 'test', user: name } }],
      'current-context': name,
    }),
  );
  return path;
}

async function runOperator(kubeconfigPath: string, name: string, isolated: boolean): Promise<Record<string, any>> {
  const op = startOperator({
    kubeconfig: kubeconfigPath,
    podNamespace: OP_NS,
    watchNamespace: ns.name,
    isolated,
    extraArgs: ['--leader-elect=false'],
  });
  operators.push(op);
  const access = await op.waitForLog('api server access', (l) => l.msg === 'api server access');
  await op.waitForLog('workers started', (l) => l.msg === 'caches synced, starting workers', 60_000);
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: MEMCACHED_VERSION,
    namespace: ns.name,
    plural: 'memcacheds',
    body: { apiVersion: `${GROUP}/${MEMCACHED_VERSION}`, kind: 'Memcached', metadata: { name }, spec: { size: 1 } },
  });
  await waitFor(
    `Deployment ${ns.name}/${name} created by the operator`,
    () => apps.readNamespacedDeployment({ namespace: ns.name, name }).catch(() => undefined),
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  expect(op.lines.filter((l) => l.level === 'error')).toEqual([]);
  return access;
}

describe('the operator bundle reaches the API server', () => {
  it('with a client certificate kubeconfig: the lean loader, the bundle alone', async () => {
    const { path } = await sharedCluster().userKubeconfig('rt-access-admin', ['system:masters']);
    const access = await runOperator(path, 'with-cert', true);
    expect(access).toMatchObject({ loader: 'lean', source: path, auth: 'client certificate' });
  });

  it('with a ServiceAccount token file (relative path): the lean loader, the bundle alone', async () => {
    writeFileSync(join(dir, 'token'), `${saToken}\n`);
    const path = kubeconfig('sa-token-file', { tokenFile: 'token' });
    const access = await runOperator(path, 'with-token-file', true);
    expect(access).toMatchObject({ loader: 'lean', source: path, auth: 'token file' });
  });

  it("with an exec plugin: client-node's KubeConfig from the bundle's separate file", async () => {
    const plugin = join(dir, 'credential.sh');
    const credential = {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: saToken },
    };
    writeFileSync(plugin, `#!/bin/sh\ncat <<'EOF'\n${JSON.stringify(credential)}\nEOF\n`);
    chmodSync(plugin, 0o755);
    const path = kubeconfig('exec', {
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' },
    });
    const access = await runOperator(path, 'with-exec', false);
    expect(access).toMatchObject({
      loader: 'client-node',
      source: path,
      auth: 'exec plugin',
      reason: 'not handled by the lean loader: user exec',
    });
  });
});
