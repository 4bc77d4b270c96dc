import { storedGet, storedSet } from './storage.ts';

type Theme = 'light' | 'dark';
const KEY = 'kubedojo.theme';

function preferred(): Theme {
  const saved = storedGet('local', KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** Light and dark themes: the system's choice until the learner picks one, then theirs. */
export function setupTheme(toggle: HTMLButtonElement | null): void {
  const apply = (theme: Theme) => {
    document.documentElement.dataset.theme = theme;
    toggle?.setAttribute('aria-pressed', String(theme === 'dark'));
  };
  apply(preferred());
  toggle?.addEventListener('click', () => {
    const next: Theme = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
    storedSet('local', KEY, next);
    apply(next);
  });
}
