import type { AppliedObject, ApplyBlockResponse, CodeBlockView, SaveBlockResponse } from '../../server/protocol.ts';
import { ApiError, postJson } from './api.ts';
import type { BlockActions } from './code-blocks.ts';
import { h } from './dom.ts';
import { plainError } from './forms.ts';

const VERB: Record<AppliedObject['action'], { will: string; did: string }> = {
  create: { will: 'will be created', did: 'created' },
  update: { will: 'will change', did: 'changed' },
  unchanged: { will: 'is already like this (no change)', did: 'unchanged' },
  refused: { will: 'would be refused', did: 'refused' },
};

function objectList(response: ApplyBlockResponse): HTMLElement {
  return h(
    'ul',
    { class: 'apply-objects' },
    ...response.objects.map((o) =>
      h(
        'li',
        { class: `apply-${o.action}`, 'data-action': o.action },
        h('strong', {}, `${o.kind} ${o.name}`),
        ` ${response.dryRun ? VERB[o.action].will : VERB[o.action].did}`,
        o.message ? h('span', { class: 'apply-message' }, `: ${o.message}`) : null,
        o.diff ? h('pre', { class: 'apply-diff', 'aria-label': `What changes in ${o.kind} ${o.name}` }, o.diff) : null,
      ),
    ),
  );
}

/**
 * Apply and Save to my home for a manifest block. Apply first shows the server's dry run in the
 * learner's namespace (what is created, what changes and how, what the API server refuses),
 * then applies on confirmation; Save asks for a file name the learner then applies themselves.
 */
export function manifestActions(block: HTMLElement, view: CodeBlockView, what: string, actions: BlockActions, status: HTMLElement): HTMLElement[] {
  const panel = h('div', { class: 'block-panel', hidden: '' });
  block.append(panel);
  const apply = h('button', { type: 'button', class: 'copy-button', 'aria-label': `Apply ${what} to my sandbox`, 'data-testid': 'apply-block' }, 'Apply…');
  const save = h('button', { type: 'button', class: 'copy-button', 'aria-label': `Save to my home: ${what}`, 'data-testid': 'save-block' }, 'Save to my home…');
  const sandboxUrl = (ns: string, action: string) => `/api/sandboxes/${encodeURIComponent(ns)}/${action}`;
  const close = () => {
    panel.hidden = true;
    panel.replaceChildren();
  };

  apply.addEventListener('click', () => {
    const sandbox = actions.sandbox();
    if (!sandbox) {
      actions.needSandbox();
      return;
    }
    apply.disabled = true;
    status.textContent = 'Asking the API server what would change (a dry run)…';
    postJson<ApplyBlockResponse>(sandboxUrl(sandbox.namespace, 'apply'), { block: view.index, dryRun: true }).then(
      (preview) => {
        apply.disabled = false;
        status.textContent = '';
        const confirm = h('button', { type: 'button', class: 'button primary', 'data-testid': 'apply-confirm' }, 'Apply to my sandbox');
        const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
        const heading = h('p', { class: 'block-panel-title', id: `preview-${view.index}` }, `Dry run in ${sandbox.namespace}, as you:`);
        confirm.disabled = preview.objects.every((o) => o.action === 'refused' || o.action === 'unchanged');
        panel.replaceChildren(heading, objectList(preview), ...preview.notes.map((n) => h('p', { class: 'muted' }, n)), h('div', { class: 'block-panel-actions' }, confirm, cancel));
        panel.setAttribute('aria-labelledby', heading.id);
        panel.hidden = false;
        confirm.focus();
        cancel.addEventListener('click', close);
        confirm.addEventListener('click', () => {
          confirm.disabled = true;
          postJson<ApplyBlockResponse>(sandboxUrl(sandbox.namespace, 'apply'), { block: view.index, dryRun: false }).then(
            (done) => {
              panel.replaceChildren(h('p', { class: 'block-panel-title' }, `Applied in ${sandbox.namespace}:`), objectList(done), h('div', { class: 'block-panel-actions' }, h('button', { type: 'button', class: 'button', 'data-close': '' }, 'Close')));
              panel.querySelector('[data-close]')?.addEventListener('click', close);
              status.textContent = `Applied: ${done.objects.map((o) => `${o.kind} ${o.name} ${VERB[o.action].did}`).join(', ')}.`;
            },
            (error: unknown) => {
              confirm.disabled = false;
              status.textContent = `Could not apply: ${plainError(error)}`;
            },
          );
        });
      },
      (error: unknown) => {
        apply.disabled = false;
        status.textContent = `Could not try it: ${plainError(error)}`;
      },
    );
  });

  save.addEventListener('click', () => {
    const sandbox = actions.sandbox();
    if (!sandbox) {
      actions.needSandbox();
      return;
    }
    const id = `save-name-${view.index}`;
    const name = h('input', { id, type: 'text', value: view.saveAs ?? 'manifest.yaml', autocomplete: 'off', spellcheck: 'false', 'data-testid': 'save-name' });
    const submit = h('button', { type: 'submit', class: 'button primary', 'data-testid': 'save-confirm' }, 'Save');
    const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
    const form = h('form', { class: 'block-panel-form' }, h('label', { for: id }, 'File name in your home (~/)'), name, submit, cancel);
    let overwrite = false;
    cancel.addEventListener('click', close);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      submit.disabled = true;
      postJson<SaveBlockResponse>(sandboxUrl(sandbox.namespace, 'files'), { block: view.index, path: name.value.trim(), overwrite }).then(
        (saved) => {
          const runIt = h('button', { type: 'button', class: 'button', 'data-testid': 'save-run' }, `Run “${saved.command}” in my terminal`);
          runIt.addEventListener('click', () => {
            void actions.run(saved.command).then((summary) => (status.textContent = summary));
          });
          panel.replaceChildren(h('p', { class: 'block-panel-title', 'data-testid': 'saved' }, `Saved as ${saved.path}. Apply it with `, h('code', {}, saved.command), '.'), h('div', { class: 'block-panel-actions' }, runIt));
          status.textContent = `Saved as ${saved.path}.`;
        },
        (error: unknown) => {
          submit.disabled = false;
          if (error instanceof ApiError && error.status === 409) {
            overwrite = true;
            submit.textContent = 'Replace it';
            status.textContent = `~/${name.value.trim()} exists already: choose another name, or press “Replace it”.`;
          } else {
            status.textContent = `Could not save: ${plainError(error)}`;
          }
        },
      );
    });
    name.addEventListener('input', () => {
      overwrite = false;
      submit.textContent = 'Save';
    });
    panel.replaceChildren(form);
    panel.hidden = false;
    name.focus();
    name.setSelectionRange(0, name.value.replace(/\.ya?ml$/, '').length);
  });
  return [apply, save];
}
