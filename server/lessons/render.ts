import MarkdownIt from 'markdown-it';
import type { Token } from 'markdown-it';
import { describeDiagram } from './diagram-text.ts';
import { highlightCode } from './highlight.ts';
import { rewriteLinks, type LinkContext } from './links.ts';
import { escapeHtml } from './text.ts';

/**
 * The one markdown-it instance. Raw HTML in lessons is escaped (`html: false`): lesson files
 * come from outside, and nothing in the format needs it.
 */

export const md = new MarkdownIt({ html: false, linkify: false, typographer: false });
// Line endings are already LF (text.ts); this rule would copy every lesson twice more just to
// replace NUL characters, which `parseMarkdown` does only when there are any.
md.core.ruler.disable('normalize');

export function parseMarkdown(source: string, env: RenderEnv): Token[] {
  return md.parse(source.includes('\0') ? source.replace(/\0/g, '\uFFFD') : source, env);
}

/** Per-render state carried in markdown-it's env. */
export interface LessonEnv {
  links: LinkContext;
  /** Line to blame for links in text rendered on its own (quiz options), where tokens carry no map. */
  line?: number;
}

/** markdown-it's env, as this module fills it. */
export interface RenderEnv {
  lesson?: LessonEnv;
}

export function lessonEnv(env: unknown): LessonEnv | undefined {
  if (typeof env !== 'object' || env === null) return undefined;
  const value = (env as RenderEnv).lesson;
  return typeof value === 'object' ? value : undefined;
}

md.core.ruler.push('lesson_links', (state) => {
  const env = lessonEnv(state.env as unknown);
  if (!env) return;
  for (const token of state.tokens) {
    if (token.type !== 'inline') continue;
    const line = env.line ?? (token.map ? token.map[0] + 1 : 1);
    rewriteLinks(token, line, env.links);
  }
});

/** What the code pass decided about a block, kept on the token for the renderer. */
export interface CodeMeta {
  index: number;
  lang: string;
  apply: boolean;
  run: boolean;
}

export function fenceLang(token: Token): string {
  return token.info.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
}

/** The diagram's source (mermaid draws it in the browser) and its text alternative, readable by anyone. */
export function diagramHtml(source: string): string {
  const text = describeDiagram(source);
  const lines = text.lines.map((line) => `<li>${escapeHtml(line)}</li>`).join('');
  return (
    `<div class="diagram" data-diagram="mermaid"><pre class="mermaid-source">${escapeHtml(source)}</pre>` +
    `<details class="diagram-text"><summary>The diagram as text</summary><div class="diagram-text-body"><p>${escapeHtml(text.summary)}</p>${lines ? `<ul>${lines}</ul>` : ''}</div></details></div>\n`
  );
}

export function codeBlockHtml(source: string, meta: CodeMeta | null, lang: string): string {
  const attrs = [`data-lang="${escapeHtml(lang)}"`];
  if (meta) attrs.push(`data-index="${meta.index}"`);
  if (meta?.apply) attrs.push('data-apply="true"');
  if (meta?.run) attrs.push('data-run="true"');
  const langClass = lang === '' ? '' : ` class="language-${escapeHtml(lang)}"`;
  return `<div class="code-block" ${attrs.join(' ')}><pre><code${langClass}>${highlightCode(source, lang)}</code></pre></div>\n`;
}

function codeMeta(token: Token): CodeMeta | null {
  const meta = token.meta as { code?: CodeMeta } | null;
  return meta?.code ?? null;
}

md.renderer.rules.fence = (tokens, idx) => {
  const token = tokens[idx];
  if (!token) return '';
  const lang = fenceLang(token);
  if (lang === 'mermaid') return diagramHtml(token.content);
  return codeBlockHtml(token.content, codeMeta(token), lang);
};

md.renderer.rules.code_block = (tokens, idx) => {
  const token = tokens[idx];
  return token ? codeBlockHtml(token.content, codeMeta(token), '') : '';
};

/** markdown-it's Token class, for the blocks that replace the quiz in the learner page. */
const TokenClass = new md.core.State('', md, {}).Token;

export function htmlBlock(html: string): Token {
  const token = new TokenClass('html_block', '', 0);
  token.block = true;
  token.content = html;
  return token;
}

export function renderTokens(tokens: Token[], env: RenderEnv): string {
  return md.renderer.render(tokens, md.options, env);
}

export function renderInline(source: string, env: RenderEnv): string {
  return md.renderInline(source, env);
}
