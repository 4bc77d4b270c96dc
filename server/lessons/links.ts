import path from 'node:path';
import type { Token } from 'markdown-it';

/**
 * Links between lessons are relative, URL-encoded paths to .md files (as on GitHub). Here they
 * become `/lessons/<slug>#anchor`; one to a lesson this library lacks renders as plainly
 * unavailable text, never as a link to a page that does not exist.
 */

export type LinkTarget =
  | { kind: 'lesson'; slug: string; href: string }
  | { kind: 'external'; href: string }
  | { kind: 'unavailable'; title: string }
  | { kind: 'keep' };

/** Library-relative posix path of a lesson file → its slug. Paths are NFC so macOS-written names match. */
export type LessonPaths = Readonly<Record<string, string>>;

export function lessonKey(relativePath: string): string {
  return relativePath.split(path.sep).join('/').normalize('NFC');
}

const scheme = /^[a-z][a-z0-9+.-]*:/i;

export function classifyLink(href: string, fromFile: string, lessons: LessonPaths): LinkTarget {
  if (href === '' || href.startsWith('#')) return { kind: 'keep' };
  if (href.startsWith('//') || /^https?:/i.test(href)) return { kind: 'external', href };
  if (scheme.test(href)) return { kind: 'keep' }; // mailto:, tel:; markdown-it already refuses javascript: and the like
  const hashAt = href.indexOf('#');
  const fragment = hashAt === -1 ? '' : href.slice(hashAt);
  const pathPart = (hashAt === -1 ? href : href.slice(0, hashAt)).replace(/\?.*$/, '');
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathPart);
  } catch {
    return { kind: 'unavailable', title: `${pathPart} is not a valid link` };
  }
  const name = path.posix.basename(decoded) || decoded;
  if (decoded.startsWith('/')) {
    // A site-absolute path means the repository root on GitHub, which the platform does not serve.
    return decoded.toLowerCase().endsWith('.md') ? { kind: 'unavailable', title: `${name} is not in this library` } : { kind: 'keep' };
  }
  const target = lessonKey(path.posix.normalize(path.posix.join(path.posix.dirname(lessonKey(fromFile)), decoded)));
  const slug = lessons[target];
  if (slug !== undefined) return { kind: 'lesson', slug, href: `/lessons/${slug}${fragment}` };
  if (decoded.toLowerCase().endsWith('.md')) return { kind: 'unavailable', title: `${name} is not in this library` };
  return { kind: 'unavailable', title: `${name} is a file beside the lessons, which the platform does not serve` };
}

export interface LinkContext {
  file: string;
  lessons: LessonPaths;
  /** Filled while parsing. */
  resolved: Set<string>;
  unresolved: Map<string, number>;
}

/**
 * Rewrites the link tokens of one inline token in place. `line` is the 1-based line of the
 * block, for the report of an unavailable link.
 */
export function rewriteLinks(inline: Token, line: number, context: LinkContext): void {
  const children = inline.children;
  if (!children) return;
  let lineOffset = 0;
  for (let i = 0; i < children.length; i += 1) {
    const token = children[i];
    if (token?.type === 'softbreak' || token?.type === 'hardbreak') lineOffset += 1;
    if (token?.type !== 'link_open') continue;
    const href = token.attrGet('href') ?? '';
    const target = classifyLink(href, context.file, context.lessons);
    if (target.kind === 'lesson') {
      token.attrSet('href', target.href);
      token.attrSet('data-lesson', target.slug);
      context.resolved.add(target.slug);
    } else if (target.kind === 'external') {
      token.attrSet('rel', 'noopener noreferrer');
      token.attrSet('target', '_blank');
      context.resolved.add(target.href);
    } else if (target.kind === 'unavailable') {
      if (!context.unresolved.has(href)) context.unresolved.set(href, line + lineOffset);
      token.tag = 'span';
      token.attrs = [
        ['class', 'link-unavailable'],
        ['title', target.title],
      ];
      // Links do not nest, so the next link_close closes this one.
      for (let j = i + 1; j < children.length; j += 1) {
        const close = children[j];
        if (close?.type === 'link_close') {
          close.tag = 'span';
          break;
        }
      }
    }
  }
}
