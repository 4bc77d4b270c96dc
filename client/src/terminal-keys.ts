import type { Terminal } from '@xterm/xterm';
import { h } from './dom.ts';
import { storedGet, storedSet } from './storage.ts';

/** The terminal's bundled font (client/src/terminal.ts imports its @font-face rules). */
export const TERMINAL_FONT = "'JetBrains Mono', monospace";

const SCREEN_READER_KEY = 'kubedojo.terminal.screenReader';
const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** The next (or previous) focusable element of the page outside `inside`, wrapping around. */
function neighbour(inside: HTMLElement, backwards: boolean): HTMLElement | undefined {
  const all = [...document.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null || el === document.activeElement);
  const here = all.findIndex((el) => el === document.activeElement);
  const outside = all.filter((el) => !inside.contains(el));
  if (outside.length === 0) return undefined;
  // Elements before the terminal in document order, then those after it.
  const after = outside.filter((el) => all.indexOf(el) > here);
  const before = outside.filter((el) => all.indexOf(el) < here);
  return backwards ? (before.at(-1) ?? after.at(-1)) : (after[0] ?? before[0]);
}

/**
 * A shell needs Tab and Escape, so the terminal keeps them; a keyboard user still needs a way
 * out. As in code editors (CodeMirror): Escape, then Tab (or Shift+Tab) moves focus out of the
 * terminal; the Escape itself still reaches the shell. Screen-reader mode (xterm's accessible
 * rows and live announcements) is a toggle, remembered on this browser. Returns the controls
 * for the dock's bar.
 */
export function terminalKeys(term: Terminal, host: HTMLElement, dock: HTMLElement): HTMLElement[] {
  let escaped = false;
  term.attachCustomKeyEventHandler((event) => {
    if (event.type !== 'keydown') return true;
    if (event.key === 'Escape') {
      escaped = true;
      return true;
    }
    if (event.key === 'Tab' && escaped) {
      escaped = false;
      event.preventDefault();
      neighbour(host, event.shiftKey)?.focus();
      return false;
    }
    if (!['Shift', 'Control', 'Alt', 'Meta'].includes(event.key)) escaped = false;
    return true;
  });

  const hint = h('span', { class: 'terminal-hint', id: 'terminal-keys-hint' }, 'Esc then Tab leaves the terminal');
  const reader = h('button', { type: 'button', class: 'icon-button wide', 'aria-pressed': 'false', 'data-testid': 'screen-reader-mode' }, 'Screen reader');
  const apply = (on: boolean) => {
    term.options.screenReaderMode = on;
    reader.setAttribute('aria-pressed', String(on));
    reader.title = on ? 'Screen reader mode is on: the terminal keeps an accessible copy of its rows' : 'Turn on screen reader mode';
    dock.dataset.screenReader = String(on);
  };
  apply(storedGet('local', SCREEN_READER_KEY) === 'on');
  reader.addEventListener('click', () => {
    const on = reader.getAttribute('aria-pressed') !== 'true';
    storedSet('local', SCREEN_READER_KEY, on ? 'on' : null);
    apply(on);
    term.focus();
  });
  // The terminal's own input says how to leave it (it exists once xterm is open).
  const once = term.onRender(() => {
    if (!term.textarea) return;
    term.textarea.setAttribute('aria-describedby', hint.id);
    once.dispose();
  });
  return [hint, reader];
}
