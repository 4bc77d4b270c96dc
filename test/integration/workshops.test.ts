import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseManifests } from '../../server/cluster/apply.ts';
import { RawClient } from '../../server/cluster/raw.ts';
import type { ApiErrorBody, BroadcastView, GridResponse, GridRow, JoinResponse, ParticipantWorkshopView, RecordingView, SandboxView, TerminalAttachResponse, WorkshopView } from '../../server/protocol.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { projectRoot } from '../helpers/cli.ts';
import { adminKubeConfig, eventually } from '../helpers/cluster.ts';
import { browser, type Browser } from '../helpers/http.ts';
import { TerminalClient } from '../helpers/terminal.ts';

/**
 * Workshops on the real cluster: an instructor's room, participants joining with a code into
 * pre-made sandboxes, the live grid, watching a terminal, and the end that removes every
 * sandbox. Everyone tries to see what is not theirs, and must fail to.
 */

let server: TestServer;
let raw: RawClient;
const password = 'correct horse battery';
const url = () => server.url;

async function account(username: string, role: 'instructor' | 'admin', root: Browser): Promise<Browser> {
  const made = await root('POST', '/api/admin/accounts', { username, password, role });
  expect(made.status, made.text).toBe(201);
  const send = browser(url);
  expect((await send('POST', '/api/auth/login', { username, password })).status).toBe(200);
  return send;
}

function live(who: Browser): Promise<Socket> {
  const socket = io(`${url()}/live`, { extraHeaders: { cookie: who.cookie() }, transports: ['websocket'], forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      resolve(socket);
    });
    socket.once('connect_error', reject);
  });
}

let root: Browser;
let alice: Browser;
let bob: Browser;
let workshop: WorkshopView;
const participants: { send: Browser; joined: JoinResponse }[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  server = await startTestServer({ kubeconfig: inject('kubeconfig'), terminalBackend: 'jail' });
  raw = new RawClient(adminKubeConfig(inject('kubeconfig')), 'test');
  root = browser(url);
  expect((await root('POST', '/api/auth/setup', { token: await server.services.learners.issueSetupToken(), username: 'root', password })).status).toBe(201);
  alice = await account('alice', 'instructor', root);
  bob = await account('bob', 'instructor', root);
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  await server.close();
});

describe('a workshop from creation to its end', () => {
  it('is created by an instructor with a join code, and the warm pool fills for its seats', async () => {
    const created = await alice('POST', '/api/workshops', {
      title: 'Kubernetes in a morning',
      lessons: ['kubernetes-fundamentals', 'advanced-kubernetes-patterns'],
      seats: 3,
      startsAt: new Date(Date.now() - 60_000).toISOString(),
      endsAt: new Date(Date.now() + 3 * 3_600_000).toISOString(),
      sandboxSize: 'small',
    });
    expect(created.status, created.text).toBe(201);
    workshop = created.json as WorkshopView;
    expect(workshop.code).toMatch(/^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/);
    expect(workshop.joinUrl).toBe(`${url()}/join/${workshop.code}`);
    expect(workshop.state).toBe('running');
    await eventually(async () => (((await alice('GET', `/api/workshops/${workshop.id}`)).json as WorkshopView).warmSandboxes >= 3 ? true : undefined), 'the warm pool to hold 3 sandboxes', 60_000, 250);

    const bad = await alice('POST', '/api/workshops', { title: '', lessons: ['nope'], seats: 0, startsAt: 'tomorrow', endsAt: new Date().toISOString() });
    expect(bad.status).toBe(400);
    expect((bad.json as ApiErrorBody).error.issues?.map((i) => i.field).sort()).toEqual(['body.seats', 'body.startsAt', 'body.title']);
  });

  it('lets three participants in with the code, each into a claimed sandbox at once, and no fourth', async () => {
    for (const name of ['Ana', 'Ben', 'Cy']) {
      const send = browser(url);
      const started = performance.now();
      const response = await send('POST', '/api/join', { code: workshop.code.toLowerCase().replace('-', ' '), displayName: name });
      expect(response.status, response.text).toBe(201);
      const joined = response.json as JoinResponse;
      expect(joined.learner).toMatchObject({ kind: 'participant', displayName: name, workshopId: workshop.id });
      expect(joined.sandbox?.lesson).toBe('kubernetes-fundamentals');
      expect(performance.now() - started).toBeLessThan(2000);
      participants.push({ send, joined });
    }
    const full = await browser(url)('POST', '/api/join', { code: workshop.code, displayName: 'Dee' });
    expect(full.status).toBe(409);
    expect((full.json as ApiErrorBody).error.message).toContain('is full (3 seats)');
    const unknown = await browser(url)('POST', '/api/join', { code: 'ZZZZ-ZZZZ', displayName: 'Eve' });
    expect(unknown.status).toBe(404);
  });

  it('shows the grid to its instructor only, and keeps it live as participants work', async () => {
    const grid = (await alice('GET', `/api/workshops/${workshop.id}/grid`)).json as GridResponse;
    expect(grid.rows.map((r) => r.displayName).sort()).toEqual(['Ana', 'Ben', 'Cy']);
    expect(grid.columns.length).toBe(15);
    expect(grid.rows[0]?.cells.every((c) => c.status === 'not-started')).toBe(true);
    expect((await bob('GET', `/api/workshops/${workshop.id}/grid`)).status).toBe(404);
    expect((await participants[0]?.send('GET', `/api/workshops/${workshop.id}/grid`))?.status).toBe(401);
    expect(((await bob('GET', '/api/workshops')).json as { workshops: unknown[] }).workshops).toEqual([]);

    // The instructor watches the grid; another instructor may not.
    const aliceLive = await live(alice);
    const bobLive = await live(bob);
    sockets.push(aliceLive, bobLive);
    expect(await aliceLive.emitWithAck('grid:watch', { workshopId: workshop.id })).toEqual({ ok: true });
    expect(await bobLive.emitWithAck('grid:watch', { workshopId: workshop.id })).toMatchObject({ ok: false });
    const rows: GridRow[] = [];
    aliceLive.on('grid:row', (update: { row: GridRow }) => rows.push(update.row));
    const overheard: unknown[] = [];
    bobLive.on('grid:row', (update: unknown) => overheard.push(update));

    // Ana builds the first exercise and presses Check.
    const ana = participants[0];
    if (!ana?.joined.sandbox) throw new Error('no sandbox');
    const dir = path.join(projectRoot, 'lessons/02_intermediate/labs/kubernetes-fundamentals/deploy-web/solution');
    for (const object of parseManifests(await readFile(path.join(dir, 'web.yaml'), 'utf8'), 'web.yaml')) {
      expect((await raw.apply(object, { namespace: ana.joined.sandbox.namespace })).ok).toBe(true);
    }
    const run = await ana.send('POST', `/api/sandboxes/${ana.joined.sandbox.namespace}/checks?wait=true`, { exercise: 'deploy-web' });
    expect(run.status, run.text).toBe(200);
    const row = await eventually(() => rows.find((r) => r.displayName === 'Ana' && r.cells.find((c) => c.exercise === 'deploy-web')?.status === 'passed'), 'the grid row of Ana to show deploy-web passed', 10_000);
    expect(row.cells.find((c) => c.exercise === 'deploy-web')?.attempts).toBe(1);
    expect(overheard).toEqual([]);

    // A quiz answer moves the grid too.
    await participants[1]?.send('POST', '/api/lessons/kubernetes-fundamentals/quiz/q1/answer', { choice: 'A' });
    await eventually(() => rows.find((r) => r.displayName === 'Ben'), 'Ben’s row after a quiz answer', 10_000);
  });

  it('lets the instructor watch a participant’s terminal read-only, and nobody else', async () => {
    const ben = participants[1];
    if (!ben?.joined.sandbox) throw new Error('no sandbox');
    const namespace = ben.joined.sandbox.namespace;
    const own = new TerminalClient(url(), ben.send.cookie());
    sockets.push(own.socket);
    expect((await own.attach(namespace)).ok).toBe(true);
    await own.run('echo ready');

    const watcher = new TerminalClient(url(), alice.cookie());
    sockets.push(watcher.socket);
    await watcher.connected();
    const watched = (await watcher.socket.emitWithAck('watch', { namespace })) as TerminalAttachResponse;
    expect(watched.ok).toBe(true);
    if (watched.ok) expect(watched.screen).toContain('ready');
    await own.run('echo typed-by-ben');
    await eventually(() => (watcher.output.includes('typed-by-ben') ? true : undefined), 'the watcher to see Ben type', 10_000);
    // Read-only: the instructor's keystrokes never reach the shell.
    watcher.type('echo typed-by-alice\n');
    await eventually(() => (watcher.notices.some((n) => n.includes('read-only')) ? true : undefined), 'a read-only notice', 5000);
    expect(await own.run('echo after')).not.toContain('typed-by-alice');

    for (const [who, cookie] of [
      ['another instructor', bob.cookie()],
      ['another participant', participants[2]?.send.cookie() ?? ''],
    ] as const) {
      const intruder = new TerminalClient(url(), cookie);
      sockets.push(intruder.socket);
      await intruder.connected();
      const refused = (await intruder.socket.emitWithAck('watch', { namespace })) as TerminalAttachResponse;
      expect(refused.ok, who).toBe(false);
      // Nor may they attach as if it were theirs.
      expect((await intruder.attach(namespace)).ok, who).toBe(false);
    }
    own.close();
  });

  it('replays a participant’s recording to their instructor only', async () => {
    const ben = participants[1];
    const learnerId = ben?.joined.learner.id ?? '';
    const list = await eventually(async () => {
      const response = (await alice('GET', `/api/workshops/${workshop.id}/participants/${learnerId}/recordings`)).json as { recordings: RecordingView[] };
      return response.recordings.length > 0 ? response.recordings : undefined;
    }, 'Ben’s recording', 10_000);
    const id = list[0]?.id ?? '';
    expect((await alice('GET', `/api/recordings/${id}/cast`)).status).toBe(200);
    expect((await bob('GET', `/api/recordings/${id}/cast`)).status).toBe(404);
    expect((await participants[0]?.send('GET', `/api/recordings/${id}/cast`))?.status).toBe(404);
    expect((await bob('GET', `/api/workshops/${workshop.id}/participants/${learnerId}/recordings`)).status).toBe(404);
  });

  it('broadcasts to the room, exports results, and resets or extends a participant’s sandbox', async () => {
    const cy = participants[2];
    if (!cy?.joined.sandbox) throw new Error('no sandbox');
    const cyLive = await live(cy.send);
    sockets.push(cyLive);
    const heard: BroadcastView[] = [];
    cyLive.on('workshop:broadcast', (m: BroadcastView) => heard.push(m));
    expect((await alice('POST', `/api/workshops/${workshop.id}/broadcast`, { text: 'Ten minutes left for exercise 1' })).status).toBe(201);
    await eventually(() => (heard.length > 0 ? true : undefined), 'the broadcast to arrive', 5000);
    expect(heard[0]?.text).toBe('Ten minutes left for exercise 1');
    expect(((await cy.send('GET', '/api/workshop')).json as ParticipantWorkshopView).messages.map((m) => m.text)).toEqual(['Ten minutes left for exercise 1']);
    expect((await bob('POST', `/api/workshops/${workshop.id}/broadcast`, { text: 'hi' })).status).toBe(404);

    const csv = await alice('GET', `/api/workshops/${workshop.id}/results?format=csv`);
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect(csv.text.split('\r\n')[0]).toContain('kubernetes-fundamentals/deploy-web');
    expect(csv.text).toMatch(/Ana,.*passed/);
    const json = (await alice('GET', `/api/workshops/${workshop.id}/results`)).json as GridResponse;
    expect(json.rows).toHaveLength(3);

    const extended = await alice('POST', `/api/workshops/${workshop.id}/sandboxes/${cy.joined.sandbox.namespace}/extend`, { minutes: 30 });
    expect(extended.status).toBe(200);
    expect((await bob('POST', `/api/workshops/${workshop.id}/sandboxes/${cy.joined.sandbox.namespace}/reset`)).status).toBe(404);
    const reset = await alice('POST', `/api/workshops/${workshop.id}/sandboxes/${cy.joined.sandbox.namespace}/reset`);
    expect(reset.status).toBe(200);
  });

  it("tags a participant's sandbox for the second lesson with the workshop: the instructor sees and resets it", async () => {
    const ana = participants[0];
    if (!ana) throw new Error('no participant');
    const made = await ana.send('POST', '/api/sandboxes', { lesson: 'advanced-kubernetes-patterns' });
    expect(made.status, made.text).toBe(201);
    const sandbox = made.json as SandboxView;
    // The instructor's size, not the lab's (medium), and the workshop's label.
    expect(sandbox.size).toBe('small');
    const ns = await raw.get<KubernetesObject>(`/api/v1/namespaces/${sandbox.namespace}`);
    expect(ns.ok && ns.value.metadata?.labels?.['kubedojo.dev/workshop']).toBe(workshop.id);
    const grid = (await alice('GET', `/api/workshops/${workshop.id}/grid`)).json as GridResponse;
    expect(grid.rows.find((r) => r.displayName === 'Ana')?.sandboxes.map((s) => s.lesson).sort()).toEqual(['advanced-kubernetes-patterns', 'kubernetes-fundamentals']);
    expect((await alice('POST', `/api/workshops/${workshop.id}/sandboxes/${sandbox.namespace}/reset`)).status).toBe(200);
  });

  it('ends: every participant sandbox goes, and nobody can join any more', async () => {
    const ended = await alice('POST', `/api/workshops/${workshop.id}/end`);
    expect(ended.status).toBe(200);
    expect((ended.json as { deleted: number }).deleted).toBe(4);
    await eventually(
      async () => {
        const left = await raw.get<{ items: KubernetesObject[] }>(`/api/v1/namespaces?labelSelector=${encodeURIComponent(`kubedojo.dev/workshop=${workshop.id}`)}`);
        return left.ok && left.value.items.length === 0 ? true : undefined;
      },
      'every workshop namespace to be gone',
      120_000,
      500,
    );
    const late = await browser(url)('POST', '/api/join', { code: workshop.code, displayName: 'Late' });
    expect(late.status).toBe(409);
    expect((late.json as ApiErrorBody).error.message).toContain('has ended');
    // Nor can a participant make an untagged sandbox that the end would leave running.
    const after = await participants[0]?.send('POST', '/api/sandboxes', { lesson: 'kubernetes-fundamentals' });
    expect(after?.status).toBe(409);
    expect((after?.json as ApiErrorBody).error.message).toContain('has ended, and its sandboxes with it');
  });
});
