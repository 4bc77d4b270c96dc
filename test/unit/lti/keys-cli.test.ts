import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../server/db/database.ts';
import { LtiPlatformRepository } from '../../../server/db/lti-platforms.ts';
import { ToolKeys } from '../../../server/lti/keys.ts';
import { runCli } from '../../helpers/cli.ts';

/** The tool's keys (generated, published, rotated with overlap) and the `kubedojo lti` command. */

const DAY = 86_400_000;
let dir: string;
const opened: Db[] = [];

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-lti-keys-'));
});

afterAll(async () => {
  for (const db of opened) await db.destroy();
  await fs.rm(dir, { recursive: true, force: true });
});

/** A fresh database of its own for each test. */
async function freshRepository(name: string): Promise<LtiPlatformRepository> {
  const db = await openDatabase({ dialect: 'sqlite', file: path.join(dir, `${name}.db`) });
  opened.push(db);
  return new LtiPlatformRepository(db);
}

async function signed(keys: ToolKeys): Promise<string> {
  const { kid, key } = await keys.signing();
  return new SignJWT({ hello: 'lms' }).setProtectedHeader({ alg: 'RS256', kid }).setIssuedAt().setExpirationTime('5m').sign(key);
}

describe('the tool keys', () => {
  it('publish the next key before it signs, keep the old one for the overlap, then drop it', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const keys = new ToolKeys(await freshRepository('overlap'), { rotationDays: 90, overlapMs: 2 * DAY, now: () => now });
    const first = await keys.signing();
    const published = (await keys.jwks()).keys;
    expect(published).toHaveLength(2); // current and next
    expect(published.every((k) => k.kty === 'RSA' && k.use === 'sig' && k.alg === 'RS256' && k.d === undefined)).toBe(true);
    const next = published.find((k) => k.kid !== first.kid)?.kid;
    const before = await signed(keys);

    await keys.rotate();
    const second = await keys.signing();
    expect(second.kid).toBe(next); // the key platforms already had
    const during = (await keys.jwks()).keys.map((k) => k.kid);
    expect(during).toContain(first.kid);
    expect(during).toHaveLength(3);
    // What the old key signed still verifies against the published set.
    await expect(jwtVerify(before, createLocalJWKSet(await keys.jwks()))).resolves.toBeDefined();

    now += 3 * DAY;
    expect((await keys.jwks()).keys.map((k) => k.kid)).not.toContain(first.kid);
    await expect(jwtVerify(before, createLocalJWKSet(await keys.jwks()), { currentDate: new Date(now - 3 * DAY) })).rejects.toThrow();
  });

  it('rotate by themselves when the current key is older than the rotation period', async () => {
    let now = Date.parse('2026-06-01T00:00:00Z');
    const keys = new ToolKeys(await freshRepository('lazy'), { rotationDays: 30, now: () => now });
    const today = (await keys.signing()).kid;
    now += 10 * DAY;
    expect((await keys.signing()).kid).toBe(today);
    now += 25 * DAY;
    expect((await keys.signing()).kid).not.toBe(today);
  });
});

describe('kubedojo lti', { timeout: 60_000 }, () => {
  const data = () => ['--data-dir', path.join(dir, 'cli')];
  const add = ['lti', 'add', '--issuer', 'https://moodle.school.example', '--client-id', 'abc123', '--deployment-id', '1', '--deployment-id', '2', '--auth-url', 'https://moodle.school.example/mod/lti/auth.php', '--token-url', 'https://moodle.school.example/mod/lti/token.php', '--jwks-url', 'https://moodle.school.example/mod/lti/certs.php'];

  it('adds, lists and removes a platform, and prints the URLs to paste and a one-time registration URL', async () => {
    const added = await runCli([...add, ...data(), '--json']);
    expect(added.code, added.stderr).toBe(0);
    const platform = JSON.parse(added.stdout) as { id: string; deployments: string[]; name: string };
    expect(platform).toMatchObject({ deployments: ['1', '2'], name: 'moodle.school.example' });
    const listed = await runCli(['lti', 'list', '--json', '--public-url', 'https://kubedojo.school.example', ...data()]);
    expect(JSON.parse(listed.stdout)).toMatchObject({ tool: { login: 'https://kubedojo.school.example/lti/login', launch: 'https://kubedojo.school.example/lti/launch', jwks: 'https://kubedojo.school.example/.well-known/jwks.json' }, platforms: [{ id: platform.id, clientId: 'abc123' }] });
    const register = await runCli(['lti', 'register-url', '--public-url', 'https://kubedojo.school.example', ...data()]);
    expect(register.stdout.trim()).toMatch(/^https:\/\/kubedojo\.school\.example\/lti\/register\/[A-Za-z0-9_-]{32}$/);
    const urls = await runCli(['lti', 'urls', '--public-url', 'https://kubedojo.school.example', ...data()]);
    expect(urls.stdout).toContain('OpenID Connect login initiation URL: https://kubedojo.school.example/lti/login');
    expect((await runCli(['lti', 'rotate-key', ...data()])).stdout).toMatch(/now signs with key/);
    expect((await runCli(['lti', 'remove', platform.id, ...data()])).code).toBe(0);
    expect((await runCli(['lti', 'remove', platform.id, ...data()])).code).toBe(1);
  });

  it('refuses http endpoints unless allowed, naming the flag', async () => {
    const http = add.map((a) => a.replace('https://moodle.school.example/mod/lti/token.php', 'http://moodle.school.example/mod/lti/token.php'));
    const refused = await runCli([...http, ...data()]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--token-url must be an https URL');
    expect((await runCli([...http, ...data(), '--lti-allow-http'])).code).toBe(0);
  });
});
