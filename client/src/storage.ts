/**
 * Web storage that may be missing: a page in a third-party iframe (kubedojo inside an LMS) is
 * refused localStorage and sessionStorage by browsers that block third-party storage, and reading
 * them throws. Remembering is then skipped; nothing else breaks.
 */
function area(kind: 'local' | 'session'): Storage | undefined {
  try {
    return kind === 'local' ? localStorage : sessionStorage;
  } catch {
    return undefined;
  }
}

export function storedGet(kind: 'local' | 'session', key: string): string | null {
  try {
    return area(kind)?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

export function storedSet(kind: 'local' | 'session', key: string, value: string | null): void {
  try {
    if (value === null) area(kind)?.removeItem(key);
    else area(kind)?.setItem(key, value);
  } catch {
    // Refused or full: this page goes on without remembering.
  }
}
