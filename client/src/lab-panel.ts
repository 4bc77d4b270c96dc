import type { CheckProgressEvent, CheckResultView, CheckRunView, ExerciseView, LabResponse } from '../../server/protocol.ts';
import { ApiError, getJson, postJson } from './api.ts';
import { h } from './dom.ts';
import { liveSocket } from './session.ts';

const MARK: Record<CheckResultView['status'] | 'running' | 'waiting' | 'idle', string> = { passed: '✔', failed: '✘', error: '⚠', running: '…', waiting: '…', idle: '○' };
const LABEL: Record<CheckResultView['status'] | 'running' | 'waiting' | 'idle', string> = {
  passed: 'passed',
  failed: 'failed',
  error: 'could not run',
  running: 'checking',
  waiting: 'waiting for the cluster',
  idle: 'not checked yet',
};

function setHtml(el: HTMLElement, html: string): HTMLElement {
  el.innerHTML = html; // rendered on the server from the lab file's markdown, raw HTML escaped
  return el;
}

interface ExerciseUi {
  exercise: ExerciseView;
  root: HTMLElement;
  badge: HTMLElement;
  button: HTMLButtonElement;
  results: HTMLElement;
  rows: Map<string, HTMLElement>;
}

/**
 * The lab of a lesson: each exercise with its instructions (the learner's own namespace, group
 * and prefix filled in), hints, and a Check button whose results appear inline, check by
 * check, as the grader reaches them: what was expected, what was found, and where to read up.
 */
export function labPanel(slug: string): { root: HTMLElement; setSandbox(namespace: string | undefined, why?: string): void } {
  const root = h('section', { class: 'card lab-panel', 'aria-labelledby': 'lab-heading', 'data-testid': 'lab-panel' });
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const list = h('div', { class: 'exercises' });
  const checkAll = h('button', { type: 'button', class: 'button', 'data-testid': 'check-all', 'aria-label': 'Check all exercises' }, 'Check all');
  let namespace: string | undefined;
  let uis: ExerciseUi[] = [];
  let currentRun: string | undefined;
  /** Why there is no sandbox, when it is not simply "not started yet". */
  let noSandbox = 'Start your sandbox above to check your work.';

  const summary = () => {
    const passed = uis.filter((u) => u.exercise.progress.passed).length;
    return `${passed} of ${uis.length} exercises passed`;
  };
  const counter = h('span', { class: 'badge info', 'data-testid': 'lab-progress' });

  const badgeFor = (ui: ExerciseUi) => {
    const p = ui.exercise.progress;
    ui.badge.textContent = p.passed ? 'Passed' : p.lastStatus === null ? 'Not checked' : p.lastStatus === 'error' ? 'Could not check' : 'Not yet';
    ui.badge.className = `badge ${p.passed ? 'ok' : p.lastStatus === null ? 'muted-badge' : 'bad'}`;
    counter.textContent = summary();
  };

  const row = (ui: ExerciseUi, name: string, description: string): HTMLElement => {
    let el = ui.rows.get(name);
    if (!el) {
      el = h('li', { class: 'check idle', 'data-check': name }, h('span', { class: 'check-mark', 'aria-hidden': 'true' }, MARK.idle), h('div', { class: 'check-body' }, h('p', { class: 'check-title' }, description)));
      ui.rows.set(name, el);
      ui.results.append(el);
    }
    return el;
  };

  const showResult = (ui: ExerciseUi, result: CheckResultView) => {
    const el = row(ui, result.name, result.description);
    el.className = `check ${result.status}`;
    const details = h('div', { class: 'check-body' }, h('p', { class: 'check-title' }, h('span', { class: 'visually-hidden' }, `${LABEL[result.status]}: `), result.description));
    if (result.status !== 'passed') {
      details.append(h('p', { class: 'check-message', 'data-testid': 'check-message' }, result.message));
      const facts = h('dl', { class: 'check-facts' });
      if (result.expected !== undefined) facts.append(h('dt', {}, 'Expected'), h('dd', {}, h('code', {}, result.expected)));
      if (result.found !== undefined) facts.append(h('dt', {}, 'Found'), h('dd', {}, h('code', {}, result.found)));
      if (facts.childElementCount > 0) details.append(facts);
      if (result.hint !== undefined) details.append(h('p', { class: 'check-hint' }, `Hint: ${result.hint}`));
      if (ui.exercise.section) details.append(h('p', { class: 'check-read' }, h('a', { href: `#${ui.exercise.section}` }, 'Read the section again')));
    } else {
      details.append(h('p', { class: 'check-message muted', 'data-testid': 'check-message' }, result.message));
    }
    el.replaceChildren(h('span', { class: 'check-mark', 'aria-hidden': 'true' }, MARK[result.status]), details);
  };

  const onProgress = (event: CheckProgressEvent) => {
    if (event.runId !== currentRun) return;
    const ui = uis.find((u) => u.exercise.id === event.exercise);
    if (!ui) return;
    if (event.type === 'check-finished') {
      showResult(ui, event.result);
      return;
    }
    const el = row(ui, event.check, event.type === 'check-started' ? event.description : (ui.exercise.checks.find((c) => c.name === event.check)?.description ?? event.check));
    el.className = `check ${event.type === 'check-started' ? 'running' : 'waiting'}`;
    const mark = el.querySelector('.check-mark');
    if (mark) mark.textContent = MARK.running;
    const note = el.querySelector('.check-wait') ?? el.querySelector('.check-body')?.appendChild(h('p', { class: 'check-wait muted' }));
    if (note) note.textContent = event.type === 'check-waiting' ? `Waiting for the cluster (${Math.round(event.elapsedMs / 1000)} s): ${event.message}` : 'Checking…';
  };

  const finished = (run: CheckRunView) => {
    if (run.id !== currentRun) return;
    currentRun = undefined;
    for (const ui of uis) ui.button.disabled = namespace === undefined;
    checkAll.disabled = namespace === undefined;
    for (const result of run.report?.exercises ?? []) {
      const ui = uis.find((u) => u.exercise.id === result.exercise);
      if (!ui) continue;
      for (const check of result.checks) showResult(ui, check);
      ui.exercise.progress = { ...ui.exercise.progress, attempts: ui.exercise.progress.attempts + 1, passed: ui.exercise.progress.passed || result.passed, lastStatus: result.passed ? 'passed' : 'failed' };
      badgeFor(ui);
    }
    const notes = run.report?.notes ?? [];
    const passed = run.report?.exercises.every((e) => e.passed) ?? false;
    status.textContent = notes.length > 0 ? notes.join(' ') : run.status === 'error' ? 'Some checks could not run; see below.' : passed ? 'All checks passed. Well done!' : 'Not there yet: each failed check says what it expected and what it found.';
    status.className = passed ? 'ok-text' : 'muted';
  };

  const run = (exercise: string | undefined) => {
    if (!namespace) return;
    const targets = exercise ? uis.filter((u) => u.exercise.id === exercise) : uis;
    for (const ui of uis) ui.button.disabled = true;
    checkAll.disabled = true;
    for (const ui of targets) {
      ui.rows.clear();
      ui.results.replaceChildren();
      for (const check of ui.exercise.checks) row(ui, check.name, check.description);
      if (ui.root instanceof HTMLDetailsElement) ui.root.open = true;
    }
    status.textContent = exercise ? 'Checking your work in the cluster…' : 'Checking every exercise in the cluster…';
    status.className = 'muted';
    const socket = liveSocket();
    socket.off('check:progress', onProgress).on('check:progress', onProgress);
    socket.off('check:finished', finished).on('check:finished', finished);
    postJson<CheckRunView>(`/api/sandboxes/${encodeURIComponent(namespace)}/checks`, exercise ? { exercise } : {}).then(
      (started) => {
        currentRun = started.id;
        // The socket carries progress; polling makes sure the result arrives even if it drops.
        const poll = () => {
          if (currentRun !== started.id) return;
          getJson<CheckRunView>(`/api/checks/${started.id}`).then(
            (r) => {
              if (r.status !== 'running') finished(r);
              else window.setTimeout(poll, 3000);
            },
            () => window.setTimeout(poll, 3000),
          );
        };
        if (started.status !== 'running') finished(started);
        else window.setTimeout(poll, 3000);
      },
      (error: unknown) => {
        status.textContent = error instanceof ApiError ? error.message : 'The check could not start.';
        status.className = 'problem';
        for (const ui of uis) ui.button.disabled = false;
        checkAll.disabled = false;
      },
    );
  };
  checkAll.addEventListener('click', () => {
    run(undefined);
  });

  const render = (lab: LabResponse) => {
    // Re-rendered when the sandbox changes: what the learner had open stays open.
    const open = new Set(uis.filter((u) => u.root instanceof HTMLDetailsElement && u.root.open).map((u) => u.exercise.id));
    uis = lab.exercises.map((exercise, index) => {
      const badge = h('span', { class: 'badge' });
      const button = h('button', { type: 'button', class: 'button primary', 'data-testid': `check-${exercise.id}`, 'aria-label': `Check exercise ${index + 1}: ${exercise.title}` }, 'Check');
      const results = h('ul', { class: 'check-results', 'aria-live': 'polite', 'data-testid': `results-${exercise.id}` });
      const hints =
        exercise.hintsHtml.length > 0
          ? h('details', { class: 'hints' }, h('summary', {}, `Hints (${exercise.hintsHtml.length})`), h('ul', {}, ...exercise.hintsHtml.map((hint) => setHtml(h('li'), hint))))
          : null;
      const exerciseRoot = h(
        'details',
        { class: 'exercise', 'data-testid': `exercise-${exercise.id}`, id: `exercise-${exercise.id}` },
        h('summary', {}, h('span', { class: 'exercise-number' }, `${index + 1}.`), h('span', { class: 'exercise-title' }, exercise.title), badge),
        setHtml(h('div', { class: 'exercise-instructions' }), exercise.instructionsHtml),
        hints,
        h('div', { class: 'exercise-actions' }, button, exercise.section ? h('a', { href: `#${exercise.section}` }, 'Read the section') : null),
        results,
      );
      exerciseRoot.open = open.has(exercise.id);
      const ui: ExerciseUi = { exercise, root: exerciseRoot, badge, button, results, rows: new Map() };
      button.disabled = namespace === undefined;
      button.title = namespace === undefined ? 'Start your sandbox first' : 'Grade this exercise in your sandbox';
      button.addEventListener('click', () => {
        run(exercise.id);
      });
      badgeFor(ui);
      return ui;
    });
    checkAll.disabled = namespace === undefined;
    list.replaceChildren(...uis.map((u) => u.root));
    counter.textContent = summary();
    if (namespace === undefined) status.textContent = noSandbox;
  };

  const load = () =>
    getJson<LabResponse>(`/api/lessons/${encodeURIComponent(slug)}/lab`).then(render, (error: unknown) => {
      status.textContent = `Could not load the lab: ${error instanceof Error ? error.message : String(error)}`;
      status.className = 'problem';
    });

  root.append(h('div', { class: 'card-head' }, h('h2', { id: 'lab-heading' }, 'Lab exercises'), counter), h('p', { class: 'muted' }, 'Do each exercise in your sandbox, then press Check: the grader looks at what you really built in the cluster.'), list, h('div', { class: 'lab-actions' }, checkAll), status);
  void load();
  return {
    root,
    setSandbox(next, why) {
      noSandbox = why ?? 'Start your sandbox above to check your work.';
      if (next === namespace) {
        if (next === undefined) status.textContent = noSandbox;
        return;
      }
      namespace = next;
      if (namespace) status.textContent = '';
      // The instructions carry the sandbox's own values: fetch them again.
      void load();
    },
  };
}
