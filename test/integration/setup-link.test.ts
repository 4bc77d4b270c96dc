import { Writable } from 'node:stream';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call } from '../../server/cluster/api.ts';
import { createLogger } from '../../server/logger.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { adminKubeConfig, eventually, uniqueName } from '../helpers/cluster.ts';
import { browser } from '../helpers/http.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';

/**
 * The first admin's setup link is once per cluster: replicas on one PostgreSQL and one Lease,
 * as the chart runs them, log one link between them, on the leader (each start used to print
 * its own and revoke the one before). A new leader while there is still no admin logs a new
 * one, which revokes the old; once there is an admin no leader logs any.
 */

const LEASE = uniqueName('kubedojo-setup-it');
let postgres: TestPostgres;
let databaseUrl: string;
const replicas: TestServer[] = [];
const logs = new Map<TestServer, string[]>();

async function replica(): Promise<TestServer> {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: 'warn', format: 'json', destination });
  const server = await startTestServer({ kubeconfig: inject('kubeconfig'), databaseUrl }, { lease: { name: LEASE }, setupLink: true, logger });
  replicas.push(server);
  logs.set(server, lines);
  return server;
}

/** The setup links a replica has logged, oldest first. */
const linksOf = (server: TestServer): string[] => (logs.get(server) ?? []).flatMap((line) => /"setupUrl":"([^"]+)"/.exec(line)?.[1] ?? []);
const allLinks = () => replicas.flatMap(linksOf);
const leaders = () => replicas.filter((r) => r.platform.leader.leading);
const tokenOf = (link: string) => new URL(link).searchParams.get('token') ?? '';

async function close(server: TestServer): Promise<void> {
  await server.close();
  replicas.splice(replicas.indexOf(server), 1);
}

beforeAll(async () => {
  postgres = await startPostgres();
  databaseUrl = await postgres.createDatabase();
  await Promise.all([replica(), replica()]);
}, 120_000);

afterAll(async () => {
  for (const r of [...replicas]) await r.close();
  await postgres.stop();
  await call(() => adminKubeConfig(inject('kubeconfig')).makeApiClient(CoordinationV1Api).deleteNamespacedLease({ name: LEASE, namespace: 'kube-system' }));
});

describe('the setup link with two replicas on one PostgreSQL', () => {
  let firstLink = '';

  it('is logged once, by the leader', async () => {
    const leader = await eventually(() => (leaders().length === 1 && linksOf(leaders()[0] as TestServer).length === 1 ? leaders()[0] : undefined), 'the leader to log a setup link', 30_000, 100);
    // Both keep renewing and retrying for a while; no second link appears anywhere.
    await new Promise((r) => setTimeout(r, 4000));
    expect(allLinks()).toHaveLength(1);
    firstLink = linksOf(leader)[0] ?? '';
    expect(firstLink).toMatch(new RegExp(`^${leader.url}/setup\\?token=[\\w-]{32}$`));
  });

  it('is logged anew by the next leader while there is no admin; the new link works on any replica, the old one no longer', async () => {
    const [leader] = leaders();
    const next = replicas.find((r) => r !== leader);
    if (!leader || !next) throw new Error('a leader and a follower were elected in the test before');
    await close(leader);
    const [secondLink] = await eventually(() => (next.platform.leader.leading && linksOf(next).length === 1 ? linksOf(next) : undefined), 'the next leader to log a setup link', 30_000, 100);
    expect(secondLink).not.toBe(firstLink);
    const send = browser(() => next.url);
    const stale = await send('POST', '/api/auth/setup', { token: tokenOf(firstLink), username: 'first-admin', password: 'correct horse battery' });
    expect(stale.status).toBe(403);
    // Through a replica that joins now, a follower: the token is the cluster's, not one server's.
    const joined = await replica();
    const created = await browser(() => joined.url)('POST', '/api/auth/setup', { token: tokenOf(secondLink ?? ''), username: 'first-admin', password: 'correct horse battery' });
    expect(created.status, created.text).toBe(201);
  });

  it('is not logged by a leader once there is an admin', async () => {
    const [leader] = leaders();
    const next = replicas.find((r) => r !== leader);
    if (!leader || !next) throw new Error('two replicas run');
    await close(leader);
    await eventually(() => (next.platform.leader.leading ? true : undefined), 'the last replica to lead', 30_000, 100);
    // Its duties, the link's among them, have begun once this resolves.
    await next.platform.leader.settled();
    expect(linksOf(next)).toEqual([]);
  });
});
