import Prism from 'prismjs';
import loadLanguages from 'prismjs/components/index.js';
import { escapeHtml } from './text.ts';

/**
 * Server-side highlighting with Prism. Measured on the curriculum's code blocks (Node 24, this
 * 2-core machine): Prism ~0.55 s per 100 copies of both lessons, highlight.js ~1.1 s, shiki's
 * JavaScript engine ~12 s, so Prism is what keeps a 200-lesson load under 2 s. The page styles
 * Prism's `token <type>` classes. Languages lessons use are loaded once; anything else is
 * shown escaped, unhighlighted.
 */

loadLanguages(['bash', 'shell-session', 'yaml', 'json', 'go', 'python', 'docker', 'ini', 'toml', 'markup', 'diff', 'makefile', 'sql', 'rust', 'java', 'javascript', 'typescript', 'properties', 'nginx', 'hcl', 'promql']);

/** Fence names authors use that Prism knows by another name. */
const aliases: Record<string, string> = {
  console: 'shell-session',
  zsh: 'bash',
  shell: 'bash',
  sh: 'bash',
  yml: 'yaml',
  dockerfile: 'docker',
  golang: 'go',
  py: 'python',
  js: 'javascript',
  ts: 'typescript',
  html: 'markup',
  xml: 'markup',
  make: 'makefile',
};

/** Past this a block is shown unhighlighted: highlighting cost grows with size and nobody reads such a block. */
export const MAX_HIGHLIGHT_CHARS = 100_000;

export function highlightCode(code: string, lang: string): string {
  const name = aliases[lang] ?? lang;
  const grammar = Object.hasOwn(Prism.languages, name) ? Prism.languages[name] : undefined;
  if (!grammar || code.length > MAX_HIGHLIGHT_CHARS) return escapeHtml(code);
  try {
    return tokensToHtml(Prism.tokenize(code, grammar));
  } catch {
    return escapeHtml(code);
  }
}

/**
 * Prism's own stringify copies the token tree to escape it and builds a hook object per token;
 * on lesson-sized input that is most of the highlighting time and garbage. Same HTML, one pass.
 */
function tokensToHtml(stream: Prism.TokenStream): string {
  if (typeof stream === 'string') return escapeText(stream);
  if (Array.isArray(stream)) {
    let out = '';
    for (const item of stream) out += tokensToHtml(item);
    return out;
  }
  // Typed as always present, but Prism leaves it undefined on most tokens.
  const alias = stream.alias as string | string[] | undefined;
  const classes = alias === undefined ? stream.type : `${stream.type} ${Array.isArray(alias) ? alias.join(' ') : alias}`;
  return `<span class="token ${classes}">${tokensToHtml(stream.content)}</span>`;
}

const needsEscape = /[&<>]/;
function escapeText(text: string): string {
  return needsEscape.test(text) ? text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : text;
}
