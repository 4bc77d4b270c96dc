import type { CodeBlockView, SandboxView } from '../../server/protocol.ts';
import { h } from './dom.ts';
import { manifestActions } from './manifest-actions.ts';

/** What the lesson page lets code blocks do, given the learner's sandbox (if they have one). */
export interface BlockActions {
  sandbox(): SandboxView | undefined;
  /** Types a block into the terminal, command by command; resolves when it is done or stopped. */
  run(text: string): Promise<string>;
  /** Asks the learner to start their sandbox first. */
  needSandbox(): void;
}

/** "kubectl get pods -l app=web (and 2 more commands)": which block a button acts on. */
function commandsLabel(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  const first = (lines[0] ?? '').trim().replace(/\s*\\$/, '');
  const short = first.length > 60 ? `${first.slice(0, 57)}…` : first;
  return lines.length > 1 ? `${short} (and ${lines.length - 1} more line${lines.length > 2 ? 's' : ''})` : short;
}

function copyButton(pre: HTMLElement, what: string): HTMLButtonElement {
  const copy = h('button', { type: 'button', class: 'copy-button copy', 'aria-label': `Copy ${what}` }, 'Copy');
  copy.addEventListener('click', () => {
    navigator.clipboard.writeText(pre.textContent).then(
      () => {
        copy.textContent = 'Copied';
      },
      () => {
        copy.textContent = 'Press Ctrl+C';
        const range = document.createRange();
        range.selectNodeContents(pre);
        getSelection()?.removeAllRanges();
        getSelection()?.addRange(range);
      },
    );
    setTimeout(() => {
      copy.textContent = 'Copy';
    }, 2000);
  });
  return copy;
}

/**
 * Gives every code block a bar: its language, Copy, and what the page can do with it. A shell
 * block the server judged runnable gets "Run in my terminal" (the others say why not); a
 * manifest gets Apply (with a dry-run preview) and Save to my home.
 */
export function enhanceCodeBlocks(root: HTMLElement, views: readonly CodeBlockView[], actions: BlockActions | undefined): void {
  for (const block of root.querySelectorAll<HTMLElement>('.code-block')) {
    const pre = block.querySelector('pre');
    if (!pre) continue;
    // Long lines scroll sideways: a keyboard must reach the block to scroll it.
    pre.tabIndex = 0;
    const view = views.find((v) => String(v.index) === block.dataset.index);
    const bar = h('div', { class: 'code-bar' });
    const lang = block.dataset.lang;
    if (lang) bar.append(h('span', { class: 'code-lang' }, lang));
    const status = h('p', { class: 'code-status', role: 'status', 'aria-live': 'polite' });
    // Named, as a focusable element must be; a group, since a landmark per block would drown the page's own.
    pre.setAttribute('role', 'group');
    pre.setAttribute('aria-label', `${lang ?? 'code'} block`);
    const what = view?.apply && view.objects.length > 0 ? view.objects.join(', ') : view?.run ? commandsLabel(pre.textContent) : `the ${lang ?? 'code'} block`;
    const tools = h('span', { class: 'code-tools' });

    if (view?.run && actions) {
      const sandbox = actions.sandbox();
      const simulatedOnly = view.needsRealNode && sandbox !== undefined && !sandbox.realNode;
      if (view.runnable && !simulatedOnly) {
        const run = h('button', { type: 'button', class: 'copy-button run-button', 'aria-label': `Run in my terminal: ${what}` }, '▶ Run in my terminal');
        run.addEventListener('click', () => {
          const current = actions.sandbox();
          if (!current) {
            actions.needSandbox();
            return;
          }
          if (view.needsRealNode && !current.realNode) {
            status.textContent = 'This block needs containers that really run, and this cluster has only simulated nodes.';
            return;
          }
          run.disabled = true;
          status.textContent = 'Running in your terminal, one command at a time…';
          void actions.run(pre.textContent).then((summary) => {
            status.textContent = summary;
            run.disabled = false;
          });
        });
        tools.append(run);
      } else {
        const why = simulatedOnly ? 'it needs containers that really run, and this cluster has only simulated nodes' : (view.notRunnable ?? 'it cannot run as written in a fresh sandbox');
        block.append(h('p', { class: 'code-note', 'data-testid': 'not-runnable' }, `Not offered to run: ${why}.`));
      }
    }
    if (view?.apply && actions) tools.append(...manifestActions(block, view, what, actions, status));
    tools.append(copyButton(pre, what));
    bar.append(tools);
    block.prepend(bar);
    block.append(status);
  }
}
