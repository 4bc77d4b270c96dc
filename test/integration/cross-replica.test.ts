import { randomBytes } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AdminSandboxListResponse, ApiErrorBody, GridResponse, GridRow, JoinResponse, RecordingView, TerminalAttachResponse, WorkshopView } from '../../server/protocol.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { eventually } from '../helpers/cluster.ts';
import { browser, type Browser } from '../helpers/http.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { TerminalClient } from '../helpers/terminal.ts';

/**
 * Two replicas on one real PostgreSQL and the real cluster, the learner on replica A and the
 * instructor on replica B (the browser's websockets stay on the replica they reached): B's grid
 * marks the learner's terminal open and closed as A opens and ends it, the instructor on B
 * watches the shell A holds (the screen, then what is typed after, and never types into it)
 * and is dropped if their browser stops drawing, and a recording A wrote says where it is when
 * asked of B.
 */

let postgres: TestPostgres;
let a: TestServer;
let b: TestServer;
const sockets: Socket[] = [];
const password = 'correct horse battery';

let root: Browser;
let iris: Browser;
let workshop: WorkshopView;
let lea: { send: Browser; learnerId: string; namespace: string };

function onB(cookie: string): Browser {
  const send = browser(() => b.url);
  send.setCookie('kd_session', /kd_session=([^;]+)/.exec(cookie)?.[1] ?? '');
  return send;
}

beforeAll(async () => {
  postgres = await startPostgres();
  const flags = { kubeconfig: inject('kubeconfig'), terminalBackend: 'pod', databaseUrl: await postgres.createDatabase() } as const;
  // One Lease for both, as replicas have: one of them leads.
  const lease = { name: `kubedojo-cross-${randomBytes(4).toString('hex')}` };
  [a, b] = await Promise.all([startTestServer(flags, { lease }), startTestServer(flags, { lease })]);

  root = browser(() => a.url);
  expect((await root('POST', '/api/auth/setup', { token: await a.services.learners.issueSetupToken(), username: 'root', password })).status).toBe(201);
  for (const username of ['iris', 'ivan']) expect((await root('POST', '/api/admin/accounts', { username, password, role: 'instructor' })).status).toBe(201);
  iris = browser(() => b.url);
  expect((await iris('POST', '/api/auth/login', { username: 'iris', password })).status).toBe(200);
  const created = await iris('POST', '/api/workshops', {
    title: 'Across replicas',
    lessons: ['kubernetes-fundamentals'],
    seats: 2,
    startsAt: new Date(Date.now() - 60_000).toISOString(),
    endsAt: new Date(Date.now() + 3_600_000).toISOString(),
    sandboxSize: 'small',
  });
  expect(created.status, created.text).toBe(201);
  workshop = created.json as WorkshopView;
  const send = browser(() => a.url);
  const joined = await send('POST', '/api/join', { code: workshop.code, displayName: 'Lea' });
  expect(joined.status, joined.text).toBe(201);
  const { learner, sandbox, problem } = joined.json as JoinResponse;
  if (!sandbox) throw new Error(`Lea got no sandbox: ${problem ?? ''}`);
  lea = { send, learnerId: learner.id, namespace: sandbox.namespace };
}, 600_000);

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await Promise.all([a.close(), b.close()]);
  await postgres.stop();
});

async function liveGrid(who: Browser): Promise<GridRow[]> {
  const socket = io(`${b.url}/live`, { extraHeaders: { cookie: who.cookie() }, transports: ['websocket'], forceNew: true });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => {
      resolve();
    });
    socket.once('connect_error', reject);
  });
  expect(await socket.emitWithAck('grid:watch', { workshopId: workshop.id })).toEqual({ ok: true });
  const rows: GridRow[] = [];
  socket.on('grid:row', (update: { row: GridRow }) => rows.push(update.row));
  return rows;
}

const gridRow = async (): Promise<GridRow | undefined> => ((await iris('GET', `/api/workshops/${workshop.id}/grid`)).json as GridResponse).rows.find((r) => r.learnerId === lea.learnerId);

describe('a learner on one replica, the instructor on another', () => {
  it("marks the learner's terminal open on B's grid when A opens it, then lets B's instructor watch it read-only, and marks it closed when it ends", async () => {
    const rows = await liveGrid(iris);
    expect((await gridRow())?.terminalOpen).toBe(false);

    const terminal = new TerminalClient(a.url, lea.send.cookie());
    sockets.push(terminal.socket);
    const attached = await terminal.attach(lea.namespace);
    expect(attached.ok, attached.ok ? '' : attached.error).toBe(true);
    await terminal.run('echo "before the instructor looks"', 120_000);
    expect(b.platform.terminals.get(lea.namespace)).toBeUndefined();
    // The row A recomputed reaches the instructor's socket on B; B's own answers agree.
    await eventually(() => (rows.some((r) => r.learnerId === lea.learnerId && r.terminalOpen) ? true : undefined), "B's grid to hear the terminal opened", 20_000);
    expect((await gridRow())?.terminalOpen).toBe(true);
    const admin = (await onB(root.cookie())('GET', '/api/admin/sandboxes')).json as AdminSandboxListResponse;
    expect(admin.sandboxes.find((s) => s.namespace === lea.namespace)?.terminalOpen).toBe(true);

    // Iris, on B, watches the shell A holds: the screen first, then what Lea types after.
    const watcher = new TerminalClient(b.url, iris.cookie());
    sockets.push(watcher.socket);
    await watcher.connected();
    // B follows the sandboxes through its own watch of the cluster: it may take a moment to know this one.
    const watched = await eventually(async () => {
      const reply = (await watcher.socket.emitWithAck('watch', { namespace: lea.namespace })) as TerminalAttachResponse;
      return reply.ok ? reply : undefined;
    }, 'the watch to be granted on B', 30_000, 500);
    expect(watched.screen).toContain('before the instructor looks');
    expect(watched.backend).toBe('pod');
    expect(b.platform.terminals.get(lea.namespace)).toBeUndefined();
    await terminal.run('echo "typed after watching: $((6 * 7))"');
    await eventually(() => (watcher.output.includes('typed after watching: 42') ? true : undefined), 'the watcher on B to see the command typed on A', 15_000);

    // Read-only: B refuses the instructor's keystrokes, and nothing reaches the shell on A.
    watcher.type('echo typed-by-iris\n');
    await eventually(() => (watcher.notices.some((n) => n.includes('read-only')) ? true : undefined), 'a read-only notice', 5000);
    expect(await terminal.run('echo "after $((1 + 1))"')).not.toContain('typed-by-iris');
    await eventually(() => (watcher.output.includes('after 2') ? true : undefined), 'the watcher to keep following', 15_000);
    expect(watcher.output).not.toContain('typed-by-iris');

    // Another instructor may not watch it from B either.
    const ivan = browser(() => b.url);
    expect((await ivan('POST', '/api/auth/login', { username: 'ivan', password })).status).toBe(200);
    const intruder = new TerminalClient(b.url, ivan.cookie());
    sockets.push(intruder.socket);
    await intruder.connected();
    expect(((await intruder.socket.emitWithAck('watch', { namespace: lea.namespace })) as TerminalAttachResponse).ok).toBe(false);

    // Lea closes her terminal on A: the view on B ends, and B's grid marks it closed.
    terminal.socket.emit('close');
    await eventually(() => watcher.ended, 'the view on B to end', 30_000);
    expect(watcher.ended?.reason).toBe('closed');
    await eventually(() => (rows.findLast((r) => r.learnerId === lea.learnerId)?.terminalOpen === false ? true : undefined), "B's grid to hear the terminal closed", 20_000);
    expect((await gridRow())?.terminalOpen).toBe(false);
    terminal.close();
    watcher.close();
  });

  it('says which replica holds a recording when another one is asked for it', async () => {
    const list = await eventually(async () => {
      const response = (await iris('GET', `/api/workshops/${workshop.id}/participants/${lea.learnerId}/recordings`)).json as { recordings: RecordingView[] };
      return response.recordings.length > 0 ? response.recordings : undefined;
    }, "Lea's recording", 10_000);
    const id = list[0]?.id ?? '';
    const elsewhere = await iris('GET', `/api/recordings/${id}/cast`);
    expect(elsewhere.status).toBe(503);
    expect((elsewhere.json as ApiErrorBody).error.message).toContain(`written by the kubedojo replica ${a.platform.replica.id}`);
    const viaA = browser(() => a.url);
    viaA.setCookie('kd_session', /kd_session=([^;]+)/.exec(iris.cookie())?.[1] ?? '');
    const here = await viaA('GET', `/api/recordings/${id}/cast`);
    expect(here.status).toBe(200);
    expect(here.text).toContain('typed after watching: 42');
  });

  it('drops a watcher on another replica that stops drawing, without slowing the learner down', async () => {
    const terminal = new TerminalClient(a.url, lea.send.cookie());
    sockets.push(terminal.socket);
    expect((await terminal.attach(lea.namespace)).ok).toBe(true);
    await terminal.run('true', 120_000);
    // A browser that never acknowledges what it drew.
    const stalled = new TerminalClient(b.url, iris.cookie(), { autoAck: false });
    sockets.push(stalled.socket);
    await stalled.connected();
    await eventually(async () => (((await stalled.socket.emitWithAck('watch', { namespace: lea.namespace })) as TerminalAttachResponse).ok ? true : undefined), 'the watch on B', 30_000, 500);
    // 3 MiB of output: past the 2 MiB a watcher may lag, and the learner's own terminal keeps up.
    expect(await terminal.run("head -c 3145728 /dev/zero | tr '\\0' x | fold -w 1024; echo", 60_000)).toContain('x'.repeat(1024));
    await eventually(() => stalled.ended, 'the stalled view to be dropped', 30_000);
    expect(stalled.ended?.message).toContain('fell too far behind');
    expect(stalled.bytes).toBeLessThan(3 * 1024 * 1024);
    expect(await terminal.run('echo "still $((2 + 2))"')).toContain('still 4');
    terminal.close();
    stalled.close();
  });
  // Last: A leaves the cross-replica network for good.
  it('ends a view on another replica as moved when the replica holding the shell stops answering, and the view finds the shell again', async () => {
    const terminal = new TerminalClient(a.url, lea.send.cookie());
    sockets.push(terminal.socket);
    expect((await terminal.attach(lea.namespace)).ok).toBe(true);
    await terminal.run('echo "still here"', 120_000);
    const watcher = new TerminalClient(b.url, iris.cookie());
    sockets.push(watcher.socket);
    await watcher.connected();
    await eventually(async () => (((await watcher.socket.emitWithAck('watch', { namespace: lea.namespace })) as TerminalAttachResponse).ok ? true : undefined), 'the watch on B', 30_000, 500);
    // A crash, as B sees it: A's relay goes silent and never sends the view's end (A's
    // /terminal adapter stops listening; its process, and the learner's shell, carry on).
    (a.platform.app.io.of('/terminal').adapter as unknown as { close(): void }).close();
    // Two missed checks, ten seconds apart, end it: within half a minute, not never.
    await eventually(() => watcher.ended, 'the view on B to end', 45_000, 250);
    expect(watcher.ended).toEqual({ reason: 'moved', message: 'The server holding this terminal stopped.' });
    // What the browser's view does next: the learner's page reattaches through B, and the
    // view, asking again, finds the same shell there.
    const moved = new TerminalClient(b.url, lea.send.cookie());
    sockets.push(moved.socket);
    expect((await moved.attach(lea.namespace)).ok).toBe(true);
    const again = (await watcher.socket.emitWithAck('watch', { namespace: lea.namespace })) as TerminalAttachResponse;
    expect(again.ok).toBe(true);
    const seen = watcher.output.length;
    expect(await moved.run('echo "followed $((6 * 7))"')).toContain('followed 42');
    await eventually(() => (watcher.output.slice(seen).includes('followed 42') ? true : undefined), 'the followed view to show new output', 10_000);
    terminal.close();
    moved.close();
    watcher.close();
  });
});
