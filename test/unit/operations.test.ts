import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Request } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapacityProbe } from '../../server/http/capacity.ts';
import { workshopState } from '../../server/workshops/service.ts';
import { createMetrics } from '../../server/http/metrics.ts';
import { silentLogger } from '../../server/logger.ts';
import type { ApiErrorBody, CapacityResponse, CheckRunView } from '../../server/protocol.ts';
import type { Sandbox } from '../../server/sandboxes/service.ts';
import { deadKubeconfig, startTestServer, type TestServer } from '../helpers/app.ts';
import { browser, type Browser } from '../helpers/http.ts';

/** /metrics and the admin's capacity and reap, without a cluster; the probe and metrics with fakes. */

const password = 'correct horse battery';

function sandbox(state: Sandbox['state']): Sandbox {
  return { namespace: `kd-${state}`, learnerKey: 'l', learnerName: 'n', lesson: 'x', workshop: null, size: 'small', nodes: 'auto', group: 'g', priorityClassPrefix: 'p', createdAt: '', expiresAt: '', lastActivity: '', state, resourceVersion: '1' };
}

function fakes(list: () => Promise<Sandbox[]>) {
  let calls = 0;
  const sandboxes = Object.assign(new EventEmitter(), {
    list: () => {
      calls += 1;
      return list();
    },
    poolSize: 3,
    poolSizeOf: (size: string) => (size === 'small' ? 2 : size === 'large' ? 1 : 0),
  });
  return { sandboxes, terminals: { count: 4 }, calls: () => calls };
}

describe('the capacity probe', () => {
  it('counts by state and shares one listing for its ttl', async () => {
    const f = fakes(() => Promise.resolve([sandbox('ready'), sandbox('ready'), sandbox('creating')]));
    const probe = new CapacityProbe({ ...f, capacity: 10, runningWorkshops: () => Promise.resolve(2), logger: silentLogger(), ttlMs: 60_000 });
    const first = await probe.snapshot();
    expect(first).toMatchObject({
      sandboxes: { inUse: 3, capacity: 10, byState: { ready: 2, creating: 1, terminating: 0 } },
      warmPool: { total: 3, bySize: { small: 2, medium: 0, large: 1 } },
      terminals: { open: 4 },
      workshops: { running: 2 },
      problem: null,
    });
    await probe.snapshot();
    await probe.sandboxes();
    expect(f.calls()).toBe(1);
    probe.invalidate();
    await probe.snapshot();
    expect(f.calls()).toBe(2);
  });

  it('reports a failed or hanging listing as a problem, and keeps that too', async () => {
    const failing = fakes(() => Promise.reject(new Error('the API server is unreachable: connect ECONNREFUSED')));
    const probe = new CapacityProbe({ ...failing, capacity: 10, runningWorkshops: () => Promise.resolve(0), logger: silentLogger(), ttlMs: 60_000 });
    expect(await probe.snapshot()).toMatchObject({ sandboxes: { inUse: null, byState: null, capacity: 10 }, problem: 'the API server is unreachable: connect ECONNREFUSED' });
    await probe.snapshot();
    expect(failing.calls()).toBe(1);

    const hanging = fakes(() => new Promise<Sandbox[]>(() => undefined));
    const slow = new CapacityProbe({ ...hanging, capacity: 10, runningWorkshops: () => Promise.resolve(0), logger: silentLogger(), timeoutMs: 50 });
    const started = Date.now();
    expect((await slow.snapshot()).problem).toBe('the API server did not list the sandboxes within 0.05 s');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('counts workshops that have started and not ended as running', () => {
    const now = Date.parse('2026-12-01T10:00:00Z');
    const workshops = [
      { state: 'scheduled' as const, startsAt: '2026-12-01T09:00:00Z' },
      { state: 'scheduled' as const, startsAt: '2026-12-01T11:00:00Z' },
      { state: 'ended' as const, startsAt: '2026-12-01T08:00:00Z' },
    ];
    expect(workshops.filter((w) => workshopState(w, now) === 'running')).toHaveLength(1);
  });
});

describe('metrics fed by events', () => {
  it('counts finished checks by status with their duration, and sandbox events; close() unsubscribes', async () => {
    const f = fakes(() => Promise.resolve([sandbox('ready')]));
    const grading = new EventEmitter();
    let leading = false;
    const probe = new CapacityProbe({ ...f, capacity: 10, runningWorkshops: () => Promise.resolve(1), logger: silentLogger() });
    const metrics = createMetrics({ probe, sandboxes: f.sandboxes, terminals: f.terminals, grading, runningWorkshops: () => Promise.resolve(1), capacity: 10, routeLabel: (_req: Request) => 'none', version: '9.9.9', leading: () => leading });
    const run = (status: CheckRunView['status'], durationMs: number): CheckRunView => ({
      id: 'r',
      lesson: 'l',
      exercise: null,
      namespace: 'kd-x',
      status,
      startedAt: '2026-12-01T10:00:00.000Z',
      finishedAt: '2026-12-01T10:00:03.000Z',
      report: { lesson: 'l', namespace: 'kd-x', passed: status === 'passed', exercises: [], startedAt: '', durationMs, notes: [] },
    });
    grading.emit('event', { type: 'finished', learnerId: 'a', namespace: 'kd-x', run: run('passed', 1500) });
    grading.emit('event', { type: 'finished', learnerId: 'a', namespace: 'kd-x', run: { ...run('error', 0), report: null } });
    grading.emit('event', { type: 'progress', learnerId: 'a', namespace: 'kd-x', event: {} });
    f.sandboxes.emit('event', { type: 'created', namespace: 'kd-x' });
    f.sandboxes.emit('event', { type: 'deleted', namespace: 'kd-x', reason: 'workshop "anything a user typed" ended' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('kubedojo_checks_total{status="passed"} 1');
    expect(text).toContain('kubedojo_checks_total{status="error"} 1');
    expect(text).toContain('kubedojo_checks_total{status="failed"} 0');
    expect(text).toContain('kubedojo_check_duration_seconds_sum{status="passed"} 1.5');
    // Without a report, the run's own start and finish say how long it took.
    expect(text).toContain('kubedojo_check_duration_seconds_sum{status="error"} 3');
    expect(text).toContain('kubedojo_sandbox_events_total{type="created"} 1');
    expect(text).toContain('kubedojo_sandbox_events_total{type="deleted"} 1');
    expect(text).not.toContain('anything a user typed');
    expect(text).toContain('kubedojo_sandboxes{state="ready"} 1');
    expect(text).toContain('kubedojo_warm_pool_sandboxes{size="small"} 2');
    expect(text).toContain('kubedojo_terminals_open 4');
    expect(text).toContain('kubedojo_workshops_running 1');
    expect(text).toContain('kubedojo_info{version="9.9.9"} 1');
    expect(text).toContain('kubedojo_leader 0');
    leading = true;
    expect(await metrics.registry.metrics()).toContain('kubedojo_leader 1');
    metrics.close();
    expect(grading.listenerCount('event')).toBe(0);
    expect(f.sandboxes.listenerCount('event')).toBe(0);
  });
});

describe('without a cluster', () => {
  let server: TestServer;
  let dir: string;
  let admin: Browser;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-ops-'));
    const { file: kubeconfig } = await deadKubeconfig(dir);
    server = await startTestServer({ kubeconfig });
    admin = browser(() => server.url);
    const created = await admin('POST', '/api/auth/setup', { token: await server.services.learners.issueSetupToken(), username: 'ops-admin', password });
    expect(created.status).toBe(201);
  });

  afterAll(async () => {
    await server.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('serves /metrics with every kubedojo metric and the process metrics', async () => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    expect(response.headers.get('set-cookie')).toBeNull();
    const text = await response.text();
    for (const name of [
      'kubedojo_info',
      'kubedojo_sandboxes',
      'kubedojo_sandbox_list_ok',
      'kubedojo_sandbox_capacity',
      'kubedojo_warm_pool_sandboxes',
      'kubedojo_terminals_open',
      'kubedojo_workshops_running',
      'kubedojo_checks_total',
      'kubedojo_check_duration_seconds',
      'kubedojo_sandbox_events_total',
      'kubedojo_http_request_duration_seconds',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    // The cluster cannot be listed: the gauge says so instead of reporting zero sandboxes.
    expect(text).toContain('kubedojo_sandbox_list_ok 0');
    expect(text).not.toMatch(/^kubedojo_sandboxes\{/m);
    expect(text).toContain('kubedojo_sandbox_capacity 300');
  });

  it('labels requests by route template, never by what the client sent', async () => {
    await fetch(`${server.url}/api/lessons/no-such-lesson-abc123`);
    await fetch(`${server.url}/api/lessons/kubernetes-fundamentals`);
    await fetch(`${server.url}/api/zz-unknown-${'x'.repeat(40)}`);
    await fetch(`${server.url}/api/lessons`, { method: 'PROPFIND' });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain('kubedojo_http_request_duration_seconds_count{method="GET",route="/api/lessons/:slug",status="404"} 1');
    expect(text).toContain('kubedojo_http_request_duration_seconds_count{method="GET",route="/api/lessons/:slug",status="200"} 1');
    expect(text).toContain('route="none",status="404"');
    expect(text).toContain('method="other"');
    expect(text).not.toContain('no-such-lesson');
    expect(text).not.toContain('zz-unknown');
    expect(text).not.toContain('PROPFIND');
  });

  it('gives the capacity and reap only to admins', async () => {
    const anyone = browser(() => server.url);
    expect((await anyone('GET', '/api/admin/capacity')).status).toBe(401);
    expect((await anyone('POST', '/api/admin/reap')).status).toBe(401);
    expect((await admin('POST', '/api/admin/accounts', { username: 'ops-learner', password, role: 'instructor' })).status).toBe(201);
    const instructor = browser(() => server.url);
    expect((await instructor('POST', '/api/auth/login', { username: 'ops-learner', password })).status).toBe(200);
    const forbidden = await instructor('GET', '/api/admin/capacity');
    expect(forbidden.status).toBe(403);
    expect((forbidden.json as ApiErrorBody).error.message).toBe('this needs the admin role');
    expect((await instructor('POST', '/api/admin/reap')).status).toBe(403);
  });

  it('shows the capacity with what it could not read, and the running workshops', async () => {
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const endsAt = new Date(Date.now() + 3_600_000).toISOString();
    expect((await admin('POST', '/api/workshops', { title: 'Now', lessons: ['kubernetes-fundamentals'], seats: 2, startsAt, endsAt })).status).toBe(201);
    const response = await admin('GET', '/api/admin/capacity');
    expect(response.status).toBe(200);
    const body = response.json as CapacityResponse;
    expect(body).toMatchObject({
      sandboxes: { inUse: null, capacity: 300, byState: null },
      warmPool: { total: 0, bySize: { small: 0, medium: 0, large: 0 } },
      terminals: { open: 0 },
      workshops: { running: 1 },
    });
    expect(body.problem).toContain('ECONNREFUSED');
    expect(Date.parse(body.checkedAt)).not.toBeNaN();
  });

  it('answers a reap with 503 and the reason when the cluster is down', async () => {
    const response = await admin('POST', '/api/admin/reap');
    expect(response.status).toBe(503);
    expect((response.json as ApiErrorBody).error.message).toContain('ECONNREFUSED');
  });
});
