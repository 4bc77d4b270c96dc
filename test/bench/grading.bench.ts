/**
 * npm run bench:grading [-- --repeat 9] [-- --learners 50]
 *
 * Prints, measured in one run against a fresh local cluster (etcd with fsync, as users run it):
 *   - the time to grade the advanced lab's declarative checks (every check except the operator's
 *     and the autoscaler's load test, which watch behaviour over time) in a sandbox holding the
 *     reference solutions: median and slowest of `repeat` runs;
 *   - `learners` learners pressing "Check all" on the fundamentals lab at once, through the REST
 *     API of `kubedojo serve` in its own process (as in production): time until every result is
 *     in, and each run's p50/p99.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import { applyAsLearner, manifestsOf, readSubmission } from '../../server/grading/submission.ts';
import { isBehavioural } from '../../server/grading/grader.ts';
import { namespaceQuiet } from '../../server/grading/quiet.ts';
import { SandboxScope } from '../../server/grading/scope.ts';
import type { CheckRunView, SandboxView } from '../../server/protocol.ts';
import { projectRoot, runCli, runCliOk } from '../helpers/cli.ts';
import { adminKubeConfig } from '../helpers/cluster.ts';
import { gradingKit } from '../helpers/grading.ts';
import { browser } from '../helpers/http.ts';
import { percentile, printTable, serveFor, verdict, type Served } from './report.ts';

const { values } = parseArgs({ options: { repeat: { type: 'string', default: '9' }, learners: { type: 'string', default: '50' } } });
const counts = { repeat: Number(values.repeat), learners: Number(values.learners) };

const ms = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(0)} ms`);
const phase = (text: string) => process.stderr.write(`… ${text}\n`);

async function until(what: string, test: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-bench-grade-'));
  console.log(`kubedojo bench: grading  (${os.availableParallelism()} cores, Node ${process.version}; fresh local cluster, etcd with fsync)`);
  let server: Served | undefined;
  try {
    const up = JSON.parse((await runCliOk(['cluster', 'up', '--json', '--data-dir', dataDir])).stdout) as { kubeconfig: string };
    const kit = await gradingKit(up.kubeconfig);
    await kit.sandboxes.start();

    // ---- the advanced lab's declarative checks, in one sandbox with every reference solution
    phase('advanced lab: applying the reference solutions');
    const lesson = kit.library.bySlug.get('advanced-kubernetes-patterns');
    if (!lesson?.lab) throw new Error('the advanced lesson has no lab');
    const access = await kit.sandboxes.create({ learnerId: 'bench-advanced', lesson: lesson.slug });
    const sandbox = { namespace: access.sandbox.namespace, group: access.sandbox.group, priorityClassPrefix: access.sandbox.priorityClassPrefix };
    const objects: { file: string; object: KubernetesObject }[] = [];
    for (const exercise of lesson.lab.exercises) {
      const files = await readSubmission(path.join(path.dirname(lesson.absPath), exercise.solution));
      objects.push(...manifestsOf(files, sandbox).objects);
    }
    const notes = await applyAsLearner(access.kubeconfig, sandbox.namespace, objects);
    if (notes.length > 0) throw new Error(`the reference solutions did not apply:\n${notes.join('\n')}`);
    const scope = new SandboxScope(adminKubeConfig(up.kubeconfig), sandbox);
    await until('the sandbox to settle', () => namespaceQuiet(scope));
    const declarative = lesson.lab.exercises.flatMap((e) => e.checks).filter((c) => !isBehavioural(c)).length;
    phase(`advanced lab: grading ${declarative} declarative checks ${counts.repeat} times`);
    const times: number[] = [];
    let failed = 0;
    for (let i = 0; i < counts.repeat + 1; i += 1) {
      const started = performance.now();
      const report = await kit.grader.grade({ lesson: lesson.slug, sandbox, only: (c) => !isBehavioural(c) });
      const elapsed = performance.now() - started;
      if (!report.passed) {
        failed += 1;
        if (failed === 1) for (const c of report.exercises.flatMap((e) => e.checks).filter((c) => c.status !== 'passed')) phase(`  did not pass: ${c.name}: ${c.message}`);
      }
      if (i > 0) times.push(elapsed); // the first run warms discovery
    }
    times.sort((a, b) => a - b);

    // ---- many learners pressing "Check all" at once, through the server
    phase(`${counts.learners} learners: sandboxes and their solutions`);
    // Every learner here comes from this one machine: the per-address limits are for strangers, not this bench.
    const platform = path.join(dataDir, 'platform');
    server = await serveFor(['--data-dir', platform, '--kubeconfig', up.kubeconfig, '--sandbox-capacity', '10000', '--reap-interval', '0', '--rate-limits', 'guests=100000/1m,sandboxes-address=100000/1m,checks-address=100000/1m']);
    const url = server.url;
    const fundamentals = kit.library.bySlug.get('kubernetes-fundamentals');
    if (!fundamentals?.lab) throw new Error('the fundamentals lesson has no lab');
    const solutionFiles = (await Promise.all(['expose-web', 'labels', 'rolling-update'].map((id) => readSubmission(path.join(path.dirname(fundamentals.absPath), `labs/kubernetes-fundamentals/${id}/solution`))))).flat();
    const learners = await Promise.all(
      Array.from({ length: counts.learners }, async () => {
        const send = browser(() => url);
        const created = await send('POST', '/api/sandboxes', { lesson: fundamentals.slug });
        if (created.status >= 300) throw new Error(`sandbox: ${created.text}`);
        const view = created.json as SandboxView;
        const values = { namespace: view.namespace, group: view.group, priorityClassPrefix: view.priorityClassPrefix };
        // Later exercises change earlier objects (rolling-update's web): the last version of each wins.
    const unique = new Map(manifestsOf(solutionFiles, values).objects.map((o) => [`${o.object.kind ?? ''}/${o.object.metadata?.name ?? ''}`, o]));
        const problems = await applyAsLearner(path.join(platform, 'sandboxes', view.namespace, 'kubeconfig'), view.namespace, [...unique.values()]);
        if (problems.length > 0) throw new Error(problems.join('\n'));
        return { send, namespace: view.namespace };
      }),
    );
    const admin = adminKubeConfig(up.kubeconfig);
    await until('every sandbox to settle', async () => (await Promise.all(learners.map((l) => namespaceQuiet(new SandboxScope(admin, { ...sandbox, namespace: l.namespace }))))).every(Boolean), 300_000);

    phase(`${counts.learners} learners: Check all, at once`);
    const started = performance.now();
    const runs = await Promise.all(learners.map(async (l) => ((await l.send('POST', `/api/sandboxes/${l.namespace}/checks`, {})).json as CheckRunView).id));
    const finished = await Promise.all(
      learners.map(async (l, i) => {
        for (;;) {
          const run = (await l.send('GET', `/api/checks/${runs[i] ?? ''}`)).json as CheckRunView;
          if (run.status !== 'running') return { run, at: performance.now() - started };
          await new Promise((r) => setTimeout(r, 100));
        }
      }),
    );
    const allDone = Math.max(...finished.map((f) => f.at));
    const perRun = finished.map((f) => f.run.report?.durationMs ?? Number.NaN).sort((a, b) => a - b);
    const passed = finished.filter((f) => f.run.status === 'passed').length;
    const firstFailure = finished.find((f) => f.run.status !== 'passed');
    if (firstFailure) for (const c of firstFailure.run.report?.exercises.flatMap((e) => e.checks).filter((c) => c.status !== 'passed') ?? []) phase(`  did not pass: ${c.name}: ${c.message}`);
    await server.stop();
    server = undefined;

    const rows = [
      ['MEASURE', 'RESULT', 'GOAL', ''],
      [`advanced lab, ${declarative} declarative checks, median of ${counts.repeat}`, ms(percentile(times, 50)), '≤ 1 s', verdict(percentile(times, 50) <= 1000)],
      ['advanced lab, slowest run', `${ms(times[times.length - 1] ?? Number.NaN)}${failed > 0 ? ` (${failed} runs did not pass!)` : ', every run passed'}`, '', ''],
      [`${counts.learners} learners press "Check all" at once (fundamentals lab): all results in`, ms(allDone), '', ''],
      ['  each run: p50 / p99', `${ms(percentile(perRun, 50))} / ${ms(percentile(perRun, 99))}`, '', ''],
      ['  runs that passed', `${passed} of ${counts.learners}`, `${counts.learners}`, verdict(passed === counts.learners)],
    ];
    printTable(rows, `; lessons from ${path.relative(process.cwd(), path.join(projectRoot, 'lessons')) || 'lessons'}`);
  } finally {
    await server?.stop();
    await runCli(['cluster', 'down', '--data-dir', dataDir]);
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

await main();
