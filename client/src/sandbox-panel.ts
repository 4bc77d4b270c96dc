import type { ParticipantWorkshopView, SandboxListResponse, SandboxView } from '../../server/protocol.ts';
import { deleteJson, getJson, postJson } from './api.ts';
import { h } from './dom.ts';
import { plainError } from './forms.ts';
import { onWorkshopEnded, session } from './session.ts';
import { closeTerminal, openTerminal, restoreTerminal } from './terminal.ts';

function timeLeft(expiresAt: string): string {
  const ms = new Date(expiresAt).getTime() - Date.now();
  if (ms <= 0) return 'expired';
  const minutes = Math.round(ms / 60_000);
  return minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min left` : `${minutes} min left`;
}

async function send(method: 'DELETE' | 'POST', url: string, body?: unknown): Promise<SandboxView | undefined> {
  if (method === 'POST') return postJson<SandboxView>(url, body ?? {});
  await deleteJson(url);
  return undefined;
}

/**
 * The learner's sandbox for a lesson with a lab: start it, see the values the lab's manifests
 * use (namespace, CRD group, PriorityClass prefix), extend, reset or delete it.
 */
export function sandboxPanel(lesson: string, onSandbox: (sandbox: SandboxView | undefined, why?: string) => void = () => undefined): HTMLElement {
  const panel = h('section', { class: 'card sandbox-panel', 'aria-labelledby': 'sandbox-heading', 'data-testid': 'sandbox-panel' });
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  let timer: number | undefined;

  const fail = (error: unknown) => {
    status.textContent = plainError(error);
    status.className = 'problem';
  };

  const busy = (text: string, action: () => Promise<void>) => {
    status.textContent = text;
    status.className = 'muted';
    for (const button of panel.querySelectorAll('button')) button.disabled = true;
    action().catch(fail);
  };

  /** Which node runs containers: learners compare `kubectl get pods -o wide` with this. */
  const nodesText = (sandbox: SandboxView): string => {
    if (!sandbox.realNode) return 'Simulated only: Pods are placed on nodes but no container runs (kubectl logs and exec say so).';
    if (sandbox.nodes === 'simulated') return 'This lab runs on the simulated nodes: Pods are placed but no container runs (kubectl logs and exec say so).';
    return `Containers run for real on ${sandbox.realNode} when it can run them; the other nodes are simulated (kubectl get nodes shows the role).`;
  };

  /** A value, and the shell variable that holds it in the learner's terminal. */
  const value = (label: string, text: string, testId: string, variable: string) =>
    h('div', { class: 'kv' }, h('dt', {}, label), h('dd', {}, h('code', { 'data-testid': testId }, text), ' ', h('span', { class: 'muted shell-var' }, 'in your terminal: ', h('code', {}, `$${variable}`))));

  /** A participant's workshop has ended: the sandbox went with it, and nothing can be started. */
  const showEnded = (title: string) => {
    window.clearInterval(timer);
    closeTerminal();
    const why = `The workshop “${title}” has ended, and your sandbox with it.`;
    onSandbox(undefined, why);
    panel.replaceChildren(
      h('div', { class: 'card-head' }, h('h2', { id: 'sandbox-heading' }, 'Lab sandbox'), h('span', { class: 'badge muted-badge', 'data-testid': 'sandbox-ended' }, 'Ended')),
      h('p', {}, `${why} Thank you for taking part! The lesson stays here to read.`),
      status,
    );
    status.textContent = '';
  };
  onWorkshopEnded(panel, (event) => {
    showEnded(event.title);
  });

  const showNone = () => {
    window.clearInterval(timer);
    onSandbox(undefined);
    const start = h('button', { type: 'button', class: 'button primary', 'data-testid': 'start-sandbox' }, 'Start my sandbox');
    start.addEventListener('click', () => {
      busy('Creating your sandbox…', async () => {
        const sandbox = await postJson<SandboxView>('/api/sandboxes', { lesson });
        show(sandbox);
        status.textContent = 'Your sandbox is ready.';
      });
    });
    panel.replaceChildren(
      h('h2', { id: 'sandbox-heading' }, 'Lab sandbox'),
      h('p', {}, 'A namespace of your own on a real cluster, with the quota and permissions this lab needs.'),
      start,
      status,
    );
  };

  const show = (sandbox: SandboxView) => {
    onSandbox(sandbox);
    const left = h('span', { 'data-testid': 'sandbox-time-left' }, timeLeft(sandbox.expiresAt));
    window.clearInterval(timer);
    timer = window.setInterval(() => {
      left.textContent = timeLeft(sandbox.expiresAt);
    }, 30_000);
    const terminal = h('button', { type: 'button', class: 'button primary', 'data-testid': 'open-terminal' }, 'Open terminal');
    terminal.addEventListener('click', () => {
      openTerminal(sandbox.namespace);
    });
    const extend = h('button', { type: 'button', class: 'button', 'data-testid': 'extend-sandbox' }, 'Add 30 minutes');
    const reset = h('button', { type: 'button', class: 'button', 'data-testid': 'reset-sandbox' }, 'Reset');
    const remove = h('button', { type: 'button', class: 'button', 'data-testid': 'delete-sandbox' }, 'Delete');
    const base = `/api/sandboxes/${encodeURIComponent(sandbox.namespace)}`;
    extend.addEventListener('click', () => {
      busy('Extending…', async () => {
        show((await send('POST', `${base}/extend`, { minutes: 30 })) ?? sandbox);
        status.textContent = 'Extended by 30 minutes.';
      });
    });
    reset.addEventListener('click', () => {
      if (!confirm('Reset the sandbox? Everything you made in it is deleted and the lab starts over.')) return;
      busy('Resetting: deleting and recreating your sandbox…', async () => {
        show((await send('POST', `${base}/reset`)) ?? sandbox);
        status.textContent = 'Your sandbox was reset.';
      });
    });
    remove.addEventListener('click', () => {
      if (!confirm('Delete the sandbox and everything in it?')) return;
      busy('Deleting…', async () => {
        closeTerminal();
        await send('DELETE', base);
        showNone();
        status.textContent = 'Your sandbox was deleted.';
      });
    });
    panel.replaceChildren(
      h('div', { class: 'card-head' }, h('h2', { id: 'sandbox-heading' }, 'Lab sandbox'), h('span', { class: 'badge ok' }, sandbox.state === 'ready' ? 'Ready' : sandbox.state), ),
      h(
        'dl',
        { class: 'kvs' },
        value('Namespace', sandbox.namespace, 'sandbox-namespace', 'NAMESPACE'),
        value('Your CRD group', sandbox.group, 'sandbox-group', 'GROUP'),
        value('PriorityClass prefix', sandbox.priorityClassPrefix, 'sandbox-prefix', 'PRIORITY_CLASS_PREFIX'),
        h('div', { class: 'kv' }, h('dt', {}, 'Time'), h('dd', {}, left, ` · size ${sandbox.size}`)),
        h('div', { class: 'kv' }, h('dt', {}, 'Nodes'), h('dd', { 'data-testid': 'sandbox-nodes' }, nodesText(sandbox))),
      ),
      h('div', { class: 'sandbox-actions' }, terminal, extend, reset, remove),
      status,
    );
  };

  // While the page is open the learner is working: say so every five minutes (idle reaping).
  window.setInterval(() => {
    if (document.visibilityState === 'visible' && panel.isConnected) void getJson<SandboxListResponse>('/api/sandboxes').catch(() => undefined);
  }, 5 * 60_000);
  panel.append(h('h2', { id: 'sandbox-heading' }, 'Lab sandbox'), h('p', { class: 'muted' }, 'Looking for your sandbox…'));
  const find = async () => {
    const list = await getJson<SandboxListResponse>('/api/sandboxes');
    const mine = list.sandboxes.find((s) => s.lesson === lesson && s.state !== 'terminating');
    if (mine) {
      show(mine);
      restoreTerminal(mine.namespace);
      return;
    }
    // A participant whose workshop has ended cannot start one: say so instead of offering it.
    if ((await session()).learner?.kind === 'participant') {
      const workshop = await getJson<ParticipantWorkshopView>('/api/workshop').catch(() => undefined);
      if (workshop?.state === 'ended') {
        showEnded(workshop.title);
        return;
      }
    }
    showNone();
  };
  find().catch(fail);
  return panel;
}
