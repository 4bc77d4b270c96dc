import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * The embedded cluster's certificates and keys: what kubeadm would make, for 127.0.0.1.
 * ECDSA P-256 throughout (fast to generate, accepted by every component). Files are created
 * once and kept across `down`/`up`; leaf certificates are renewed when they near expiry.
 */

/* @peculiar/x509 is typed against the DOM's WebCrypto; Node's implements the same API with a
 * slightly wider KeyUsage union, so its objects are handed over through these casts. */
type LibCrypto = NonNullable<Parameters<typeof x509.X509CertificateGenerator.create>[1]>;
type LibKeyPair = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];
type LibKey = LibKeyPair['privateKey'];
const provider = webcrypto as unknown as LibCrypto;

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const DAY = 24 * 60 * 60 * 1000;
const LEAF_DAYS = 365;
const CA_DAYS = 3650;
const RENEW_BEFORE_DAYS = 30;

/** Identities the platform uses. The admin group is bound to cluster-admin by RBAC; only the
 * short-lived bootstrap step uses the system:masters super-admin, as kubeadm does. */
export const identities = {
  superAdmin: { cn: 'kubedojo:super-admin', o: ['system:masters'] },
  admin: { cn: 'kubedojo:admin', o: ['kubedojo:cluster-admins'] },
  controllerManager: { cn: 'system:kube-controller-manager', o: [] },
  scheduler: { cn: 'system:kube-scheduler', o: [] },
  kwok: { cn: 'kubedojo:kwok', o: [] },
  metricsServer: { cn: 'kubedojo:metrics-server', o: [] },
  apiserverEtcdClient: { cn: 'kube-apiserver-etcd-client', o: [] },
  apiserverKubeletClient: { cn: 'kube-apiserver-kubelet-client', o: ['kubedojo:cluster-admins'] },
  frontProxyClient: { cn: 'front-proxy-client', o: [] },
} as const;

export const SERVICE_CIDR = '10.96.0.0/16';
export const KUBERNETES_SERVICE_IP = '10.96.0.1';

const loopbackNames = { dns: ['localhost'], ip: ['127.0.0.1'] };
const apiserverNames = {
  dns: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
  ip: ['127.0.0.1', KUBERNETES_SERVICE_IP],
};

type Usage = 'server' | 'client';

interface LeafSpec {
  name: string;
  ca: CaName;
  cn: string;
  o?: readonly string[];
  usage: Usage;
  names?: { dns: string[]; ip: string[] };
}

type CaName = 'ca' | 'etcd-ca' | 'front-proxy-ca';

const cas: readonly { name: CaName; cn: string }[] = [
  { name: 'ca', cn: 'kubedojo-ca' },
  { name: 'etcd-ca', cn: 'kubedojo-etcd-ca' },
  { name: 'front-proxy-ca', cn: 'kubedojo-front-proxy-ca' },
];

const leaves: readonly LeafSpec[] = [
  { name: 'etcd-server', ca: 'etcd-ca', cn: 'kubedojo-etcd', usage: 'server', names: loopbackNames },
  { name: 'apiserver-etcd-client', ca: 'etcd-ca', ...identities.apiserverEtcdClient, usage: 'client' },
  { name: 'apiserver', ca: 'ca', cn: 'kube-apiserver', usage: 'server', names: apiserverNames },
  { name: 'apiserver-kubelet-client', ca: 'ca', ...identities.apiserverKubeletClient, usage: 'client' },
  { name: 'front-proxy-client', ca: 'front-proxy-ca', ...identities.frontProxyClient, usage: 'client' },
  { name: 'super-admin', ca: 'ca', ...identities.superAdmin, usage: 'client' },
  { name: 'admin', ca: 'ca', ...identities.admin, usage: 'client' },
  { name: 'controller-manager', ca: 'ca', ...identities.controllerManager, usage: 'client' },
  { name: 'controller-manager-serving', ca: 'ca', cn: 'kube-controller-manager', usage: 'server', names: loopbackNames },
  { name: 'scheduler', ca: 'ca', ...identities.scheduler, usage: 'client' },
  { name: 'scheduler-serving', ca: 'ca', cn: 'kube-scheduler', usage: 'server', names: loopbackNames },
  { name: 'kwok', ca: 'ca', ...identities.kwok, usage: 'client' },
  { name: 'kwok-serving', ca: 'ca', cn: 'kwok', usage: 'server', names: loopbackNames },
  { name: 'metrics-server', ca: 'ca', ...identities.metricsServer, usage: 'client' },
  { name: 'metrics-server-serving', ca: 'ca', cn: 'metrics-server', usage: 'server', names: loopbackNames },
];

export type PkiFile = `${string}.${'crt' | 'key'}` | 'sa.pub';

export interface Pki {
  dir: string;
  file(name: PkiFile): string;
}

function subject(cn: string, o: readonly string[] = []): string {
  // Values are ours and contain no DN special characters.
  return [`CN=${cn}`, ...o.map((org) => `O=${org}`)].join(', ');
}

function pem(label: string, der: ArrayBuffer): string {
  return x509.PemConverter.encode(der, label);
}

async function generateKeys(): Promise<LibKeyPair> {
  return (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as unknown as LibKeyPair;
}

async function importPrivateKey(pemText: string): Promise<LibKey> {
  const der = x509.PemConverter.decodeFirst(pemText);
  return (await webcrypto.subtle.importKey('pkcs8', der, algorithm, true, ['sign'])) as unknown as LibKey;
}

async function writeSecret(file: string, content: string): Promise<void> {
  // Written to a temporary name and renamed, so a crash never leaves half a key behind.
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.writeFile(tmp, content, { mode: 0o600 });
  await fs.rename(tmp, file);
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive
  return bytes.toString('hex');
}

async function issue(options: {
  cn: string;
  o?: readonly string[] | undefined;
  keys: LibKeyPair;
  issuer?: { cert: x509.X509Certificate; key: LibKey };
  ca: boolean;
  usage?: Usage;
  names?: { dns: string[]; ip: string[] } | undefined;
  days: number;
}): Promise<x509.X509Certificate> {
  const notBefore = new Date(Date.now() - 5 * 60 * 1000); // tolerate small clock skew
  const notAfter = new Date(Date.now() + options.days * DAY);
  const extensions: x509.Extension[] = [await x509.SubjectKeyIdentifierExtension.create(options.keys.publicKey, false, provider)];
  if (options.ca) {
    extensions.push(new x509.BasicConstraintsExtension(true, 0, true));
    extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true));
  } else {
    extensions.push(new x509.BasicConstraintsExtension(false, undefined, true));
    extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true));
    extensions.push(new x509.ExtendedKeyUsageExtension([options.usage === 'server' ? SERVER_AUTH : CLIENT_AUTH]));
    if (options.names) {
      extensions.push(
        new x509.SubjectAlternativeNameExtension([
          ...options.names.dns.map((value) => ({ type: 'dns' as const, value })),
          ...options.names.ip.map((value) => ({ type: 'ip' as const, value })),
        ]),
      );
    }
  }
  const name = subject(options.cn, options.o);
  if (options.issuer) {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(options.issuer.cert, false, provider));
    return x509.X509CertificateGenerator.create(
      {
        serialNumber: serial(),
        subject: name,
        issuer: options.issuer.cert.subjectName,
        notBefore,
        notAfter,
        signingAlgorithm: algorithm,
        publicKey: options.keys.publicKey,
        signingKey: options.issuer.key,
        extensions,
      },
      provider,
    );
  }
  return x509.X509CertificateGenerator.createSelfSigned(
    { serialNumber: serial(), name, notBefore, notAfter, signingAlgorithm: algorithm, keys: options.keys, extensions },
    provider,
  );
}

async function needsRenewal(certFile: string, issuerFile: string | undefined): Promise<boolean> {
  try {
    const cert = new X509Certificate(await fs.readFile(certFile));
    if (new Date(cert.validTo).getTime() - Date.now() < RENEW_BEFORE_DAYS * DAY) return true;
    if (issuerFile) {
      const issuer = new X509Certificate(await fs.readFile(issuerFile));
      if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) return true;
    }
    return false;
  } catch {
    return true;
  }
}

/** Creates whatever is missing or about to expire; returns how to find each file. */
export async function ensurePki(dir: string): Promise<{ pki: Pki; created: string[] }> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chmod(dir, 0o700);
  const file = (name: string) => path.join(dir, name);
  const created: string[] = [];
  const caKeys = new Map<CaName, { cert: x509.X509Certificate; key: LibKey }>();

  for (const ca of cas) {
    const crt = file(`${ca.name}.crt`);
    const keyFile = file(`${ca.name}.key`);
    if (!(await exists(crt)) || !(await exists(keyFile))) {
      const keys = await generateKeys();
      const cert = await issue({ cn: ca.cn, keys, ca: true, days: CA_DAYS });
      await writeSecret(keyFile, pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)));
      await writeSecret(crt, cert.toString('pem'));
      created.push(ca.name);
    }
    caKeys.set(ca.name, { cert: new x509.X509Certificate(await fs.readFile(crt, 'utf8')), key: await importPrivateKey(await fs.readFile(keyFile, 'utf8')) });
  }

  for (const leaf of leaves) {
    const crt = file(`${leaf.name}.crt`);
    if (!(await needsRenewal(crt, file(`${leaf.ca}.crt`))) && (await exists(file(`${leaf.name}.key`)))) continue;
    const issuer = caKeys.get(leaf.ca);
    if (!issuer) throw new Error(`unknown CA ${leaf.ca}`);
    const keys = await generateKeys();
    const cert = await issue({ cn: leaf.cn, o: leaf.o, keys, issuer, ca: false, usage: leaf.usage, names: leaf.names, days: LEAF_DAYS });
    await writeSecret(file(`${leaf.name}.key`), pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)));
    await writeSecret(crt, cert.toString('pem'));
    created.push(leaf.name);
  }

  if (!(await exists(file('sa.key'))) || !(await exists(file('sa.pub')))) {
    const keys = await generateKeys();
    await writeSecret(file('sa.key'), pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)));
    await writeSecret(file('sa.pub'), pem('PUBLIC KEY', await webcrypto.subtle.exportKey('spki', keys.publicKey)));
    created.push('sa');
  }

  return { pki: { dir, file: (name) => file(name) }, created };
}
