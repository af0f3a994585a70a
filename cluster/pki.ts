// Throwaway PKI for a test control plane, made with the openssl CLI (no crypto of our own).
// All keys are ECDSA P-256: fast to generate and accepted by every component (TLS, client
// certs, service-account token signing as ES256).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** service-account token signing key (private) and its public key */
  saKey: string;
  saPub: string;
  /** admin client certificate: CN=kubernetes-admin, O=system:masters */
  adminCert: string;
  adminKey: string;
}

export interface ClientCert {
  cert: string;
  key: string;
}

const openssl = process.env.OPENSSL ?? 'openssl';
const DAYS = '7';
const CLIENT_EXT =
  'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';

async function ssl(args: string[], cwd: string): Promise<void> {
  try {
    await run(openssl, args, { cwd });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT')
      throw new Error(`openssl not found (${openssl}): the test PKI needs the openssl CLI`, { cause: err });
    throw new Error(`openssl ${args[0]} failed: ${e.stderr || e.message}`, { cause: err });
  }
}

function fileSafe(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** openssl -subj syntax: '/' and '+' and '\' must be escaped inside values */
function rdn(type: string, value: string): string {
  return `/${type}=${value.replace(/([\\/+=])/g, '\\$1')}`;
}

async function signedCert(
  pki: Pick<Pki, 'dir' | 'caCert' | 'caKey'>,
  name: string,
  subject: string,
  extensions: string,
): Promise<ClientCert> {
  const key = join(pki.dir, `${name}.key`);
  const csr = join(pki.dir, `${name}.csr`);
  const cert = join(pki.dir, `${name}.crt`);
  const ext = join(pki.dir, `${name}.ext`);
  await writeFile(ext, extensions);
  await ssl(
    [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      csr,
      '-subj',
      subject,
    ],
    pki.dir,
  );
  await ssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      pki.caCert,
      '-CAkey',
      pki.caKey,
      '-set_serial',
      `0x${randomBytes(16).toString('hex').replace(/^./, '1')}`,
      '-days',
      DAYS,
      '-sha256',
      '-extfile',
      ext,
      '-out',
      cert,
    ],
    pki.dir,
  );
  return { cert, key };
}

export interface PkiOptions {
  /** more IP addresses for the apiserver's serving certificate (the node tier adds the node's address) */
  apiserverIps?: readonly string[];
}

/** CA, apiserver serving certificate (127.0.0.1, localhost, kubernetes.default…) and SA key. */
export async function createPki(dir: string, opts: PkiOptions = {}): Promise<Pki> {
  const caCert = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  await ssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      caKey,
      '-out',
      caCert,
      '-days',
      DAYS,
      '-sha256',
      '-subj',
      '/CN=test-control-plane-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  const saKey = join(dir, 'sa.key');
  const saPub = join(dir, 'sa.pub');
  const [server, admin] = await Promise.all([
    signedCert(
      { dir, caCert, caKey },
      'apiserver',
      '/CN=kube-apiserver',
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=' +
          ['127.0.0.1', '10.0.0.1', ...(opts.apiserverIps ?? [])].map((ip) => `IP:${ip}`).join(',') +
          ',DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,' +
          'DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
        '',
      ].join('\n'),
    ),
    signedCert({ dir, caCert, caKey }, 'admin', '/O=system:masters/CN=kubernetes-admin', CLIENT_EXT),
    (async () => {
      await ssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', saKey], dir);
      await ssl(['pkey', '-in', saKey, '-pubout', '-out', saPub], dir);
    })(),
  ]);
  return {
    dir,
    caCert,
    caKey,
    serverCert: server.cert,
    serverKey: server.key,
    saKey,
    saPub,
    adminCert: admin.cert,
    adminKey: admin.key,
  };
}

/** Reads back the PKI made by createPki in `dir` (e.g. from another process). */
export function loadPki(dir: string): Pki {
  const pki: Pki = {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
  };
  if (!existsSync(pki.caKey)) throw new Error(`no test PKI in ${dir}`);
  return pki;
}

let serial = 0;

/**
 * A fresh client certificate: the apiserver reads CN as the user name and each O as a group.
 * Files get unique names, so concurrent processes sharing one PKI directory never clash.
 */
export async function clientCert(pki: Pki, user: string, groups: readonly string[] = []): Promise<ClientCert> {
  const name = `client-${fileSafe(user).slice(0, 60)}-${process.pid}-${++serial}-${randomBytes(4).toString('hex')}`;
  const subject = [...groups.map((g) => rdn('O', g)), rdn('CN', user)].join('');
  return signedCert(pki, name, subject, CLIENT_EXT);
}

/** A serving certificate of the CA for `ips` and `dnsNames` (the node tier's kubelet). */
export async function servingCert(
  pki: Pki,
  name: string,
  commonName: string,
  ips: readonly string[],
  dnsNames: readonly string[] = [],
): Promise<ClientCert> {
  const sans = [...ips.map((ip) => `IP:${ip}`), ...dnsNames.map((d) => `DNS:${d}`)].join(',');
  return signedCert(
    pki,
    fileSafe(name),
    rdn('CN', commonName),
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${sans}`,
      '',
    ].join('\n'),
  );
}
