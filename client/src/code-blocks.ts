import { h } from './dom.ts';

/** Adds a copy button to every code block, labels the blocks the platform can act on, and gives
 * kubectl blocks a "Run in my terminal" button when the page has a sandbox. */
export function enhanceCodeBlocks(root: HTMLElement, runInTerminal?: (text: string) => void): void {
  for (const block of root.querySelectorAll<HTMLElement>('.code-block')) {
    const pre = block.querySelector('pre');
    if (!pre) continue;
    const bar = h('div', { class: 'code-bar' });
    const lang = block.dataset.lang;
    if (lang) bar.append(h('span', { class: 'code-lang' }, lang));
    if (block.dataset.apply === 'true') bar.append(h('span', { class: 'code-tag', title: 'A complete Kubernetes manifest' }, 'manifest'));
    if (block.dataset.run === 'true') bar.append(h('span', { class: 'code-tag', title: 'Contains kubectl commands' }, 'kubectl'));
    const copy = h('button', { type: 'button', class: 'copy-button copy',  'aria-label': `Copy ${lang ?? 'code'} to the clipboard` }, 'Copy');
    copy.addEventListener('click', () => {
      const text = pre.textContent;
      navigator.clipboard.writeText(text).then(
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
    if (block.dataset.run === 'true' && runInTerminal) {
      const run = h('button', { type: 'button', class: 'copy-button run-button', 'aria-label': 'Run these commands in my terminal' }, '▶ Run in my terminal');
      run.addEventListener('click', () => {
        runInTerminal(pre.textContent);
      });
      bar.append(run);
    }
    bar.append(copy);
    block.prepend(bar);
  }
}
