import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePki } from '../../server/cluster/pki.ts';

let dir: string;
let created: string[];

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-pki-'));
  created = (await ensurePki(path.join(dir, 'pki'))).created;
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const read = async (name: string) => new X509Certificate(await fs.readFile(path.join(dir, 'pki', name)));

describe('ensurePki', () => {
  it('creates three CAs, the leaf certificates and the service-account keys, readable by the owner only', async () => {
    expect(created).toEqual(expect.arrayContaining(['ca', 'etcd-ca', 'front-proxy-ca', 'apiserver', 'admin', 'super-admin', 'kwok', 'sa']));
    expect((await fs.stat(path.join(dir, 'pki'))).mode & 0o777).toBe(0o700);
    for (const file of await fs.readdir(path.join(dir, 'pki'))) {
      expect((await fs.stat(path.join(dir, 'pki', file))).mode & 0o777, file).toBe(0o600);
    }
  });

  it('issues an API server certificate for 127.0.0.1 and the in-cluster names, signed by the CA', async () => {
    const ca = await read('ca.crt');
    const apiserver = await read('apiserver.crt');
    expect(ca.ca).toBe(true);
    expect(apiserver.ca).toBe(false);
    expect(apiserver.checkIssued(ca)).toBe(true);
    expect(apiserver.verify(ca.publicKey)).toBe(true);
    expect(apiserver.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(apiserver.checkHost('kubernetes.default.svc')).toBe('kubernetes.default.svc');
    expect(apiserver.checkIP('10.96.0.1')).toBe('10.96.0.1');
    expect(apiserver.checkIP('192.168.1.10')).toBeUndefined();
    expect(apiserver.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
  });

  it('gives the platform admin an RBAC group, and keeps system:masters to the bootstrap identity', async () => {
    const admin = await read('admin.crt');
    expect(admin.subject).toContain('CN=kubedojo:admin');
    expect(admin.subject).toContain('O=kubedojo:cluster-admins');
    expect(admin.subject).not.toContain('system:masters');
    expect((await read('super-admin.crt')).subject).toContain('O=system:masters');
    expect(admin.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
  });

  it('signs etcd certificates with a separate CA', async () => {
    const etcdServer = await read('etcd-server.crt');
    expect(etcdServer.checkIssued(await read('etcd-ca.crt'))).toBe(true);
    expect(etcdServer.checkIssued(await read('ca.crt'))).toBe(false);
  });

  it("names metrics-server's serving certificate as the aggregator checks it, and reissues one with other names", async () => {
    const serving = await read('metrics-server-serving.crt');
    expect(serving.checkHost('metrics-server.kube-system.svc')).toBe('metrics-server.kube-system.svc');
    expect(serving.checkIP('127.0.0.1')).toBe('127.0.0.1');
    // A certificate from an earlier version, signed by the right CA but for other names.
    await fs.copyFile(path.join(dir, 'pki', 'kwok-serving.crt'), path.join(dir, 'pki', 'metrics-server-serving.crt'));
    await fs.copyFile(path.join(dir, 'pki', 'kwok-serving.key'), path.join(dir, 'pki', 'metrics-server-serving.key'));
    expect((await ensurePki(path.join(dir, 'pki'))).created).toEqual(['metrics-server-serving']);
    expect((await read('metrics-server-serving.crt')).checkHost('metrics-server.kube-system.svc')).toBe('metrics-server.kube-system.svc');
  });

  it('changes nothing on a second run and reissues a certificate that no longer matches its CA', async () => {
    const again = await ensurePki(path.join(dir, 'pki'));
    expect(again.created).toEqual([]);
    // Replace the admin certificate with one from another CA: it must be reissued.
    await fs.copyFile(path.join(dir, 'pki', 'etcd-server.crt'), path.join(dir, 'pki', 'admin.crt'));
    const repaired = await ensurePki(path.join(dir, 'pki'));
    expect(repaired.created).toEqual(['admin']);
    expect((await read('admin.crt')).checkIssued(await read('ca.crt'))).toBe(true);
  });
});
