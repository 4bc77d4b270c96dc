import type { Token } from 'markdown-it';

/**
 * Heading ids the way GitHub makes them, so the anchors authors already link to
 * (`…Patterns.md#node-affinity`) land on the same heading here.
 */

export function githubSlug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Unique ids per page: a repeated slug gets -1, -2, … as on GitHub. */
export class Slugger {
  readonly #seen = new Map<string, number>();

  slug(text: string): string {
    const base = githubSlug(text) || 'section';
    let id = base;
    let n = this.#seen.get(base) ?? 0;
    while (this.#seen.has(id)) {
      n += 1;
      id = `${base}-${n}`;
    }
    this.#seen.set(base, n);
    this.#seen.set(id, 0);
    return id;
  }

  reserve(id: string): void {
    this.#seen.set(id, this.#seen.get(id) ?? 0);
  }
}

/** The text a reader sees in an inline token (heading, link label): markup dropped, code kept. */
export function inlineText(token: Token | undefined): string {
  if (!token) return '';
  if (!token.children) return token.content;
  let out = '';
  for (const child of token.children) {
    if (child.type === 'text' || child.type === 'code_inline' || child.type === 'html_inline') out += child.content;
    else if (child.type === 'softbreak' || child.type === 'hardbreak') out += ' ';
    else if (child.type === 'image') out += inlineText(child);
  }
  return out;
}
