/**
 * Shell text as a person types it: a block (or a paste) split into the commands they would enter
 * one at a time, and each command split into simple commands and words, for the runnable-block
 * judge (runnable.ts) and the terminal's command-by-command runner. A subset of bash's grammar:
 * quotes, backslashes, line continuations, here-documents, pipes and lists, redirections.
 */

export interface ShellCommand {
  /** What is typed: one logical line, with its continuation lines and here-document. */
  text: string;
  /** 1-based line of its first line in the block. */
  line: number;
}

interface Scan {
  /** Inside a quote when the line ends (the command goes on). */
  quote: '"' | "'" | null;
  /** Ends with an unquoted backslash, `|`, `&&` or `||`: the command goes on. */
  continues: boolean;
  /** Here-document delimiters opened on this line, in order, with whether tabs are stripped. */
  heredocs: { word: string; strip: boolean }[];
}

/** Quote state across one line, starting in `quote`. Comments end the scan. */
function scanLine(line: string, start: '"' | "'" | null): Scan {
  let quote = start;
  const heredocs: Scan['heredocs'] = [];
  let last = '';
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i] ?? '';
    if (quote === "'") {
      if (c === "'") quote = null;
      continue;
    }
    if (c === '\\') {
      if (i === line.length - 1) return { quote, continues: quote === null, heredocs };
      i += 1;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = null;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) break;
    else if (c === '<' && line[i + 1] === '<' && line[i + 2] !== '<') {
      const match = /^<<(-?)\s*(['"]?)([A-Za-z_][\w-]*)\2/.exec(line.slice(i));
      if (match?.[3]) {
        heredocs.push({ word: match[3], strip: match[1] === '-' });
        i += match[0].length - 1;
        continue;
      }
    }
    if (!/\s/.test(c)) last = line.slice(Math.max(0, i - 1), i + 1);
  }
  const continues = quote === null && (/(^|[^|])\|$/.test(last) || last === '&&' || last === '||');
  return { quote, continues, heredocs };
}

/**
 * The commands of a block, in order: blank lines and whole-line comments are skipped (nobody
 * types them), a `$ ` prompt before a command is dropped, and a command goes on over
 * continuation lines, open quotes and here-documents.
 */
export function splitCommands(source: string): ShellCommand[] {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const commands: ShellCommand[] = [];
  let i = 0;
  while (i < lines.length) {
    const first = lines[i] ?? '';
    const trimmed = first.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      i += 1;
      continue;
    }
    const start = i;
    const parts = [first.replace(/^(\s*)\$\s+/, '$1').trimEnd()];
    let scan = scanLine(parts[0] ?? '', null);
    const pending = [...scan.heredocs];
    i += 1;
    for (;;) {
      // Here-documents opened so far take the following lines, up to their delimiters.
      while (pending.length > 0 && i < lines.length) {
        const doc = pending[0];
        const body = lines[i] ?? '';
        parts.push(body);
        i += 1;
        if (doc && (doc.strip ? body.replace(/^\t+/, '') : body) === doc.word) pending.shift();
      }
      if (!(scan.quote !== null || scan.continues) || i >= lines.length) break;
      const next = lines[i] ?? '';
      parts.push(next);
      i += 1;
      scan = scanLine(next, scan.quote);
      pending.push(...scan.heredocs);
    }
    commands.push({ text: parts.join('\n'), line: start + 1 });
  }
  return commands;
}

export type Connector = ';' | '&&' | '||' | '|' | '&';

export interface SimpleCommand {
  /** Words with quotes removed; `$VAR` and `$(…)` are kept as written. */
  words: string[];
  /** `NAME=value` words before the command. */
  assignments: Record<string, string>;
  /** `>`, `>>`, `<`, `2>`, `>&` … and their targets (`2>&1` is op `2>&`, target `1`). */
  redirects: { op: string; target: string }[];
  /** The text of a here-document fed to this command. */
  heredoc: string | undefined;
  /** How it joins the next simple command (absent for the last). */
  next: Connector | undefined;
  /** The variables its words use (`$NAME`, `${NAME}`), outside single quotes. */
  variables: string[];
}

type Token = { kind: 'word'; value: string; variables: string[] } | { kind: 'op'; value: string };

const OPERATOR = /^(?:&&|\|\||;|\||&(?!>))/;
const REDIRECT = /^(?:\d*(?:<<<|<<-|<<|>>|>&|<&|>\||>|<)|&>>|&>)/;

/** Bash's words and operators for one line of shell (continuations already joined). */
function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] ?? '';
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    if (c === '#') break;
    const op = OPERATOR.exec(src.slice(i)) ?? REDIRECT.exec(src.slice(i));
    if (op) {
      tokens.push({ kind: 'op', value: op[0] });
      i += op[0].length;
      continue;
    }
    let value = '';
    const variables: string[] = [];
    while (i < src.length) {
      const d = src[i] ?? '';
      if (/\s/.test(d) || /[|&;<>]/.test(d)) break;
      if (d === "'") {
        const end = src.indexOf("'", i + 1);
        value += src.slice(i + 1, end === -1 ? src.length : end);
        i = end === -1 ? src.length : end + 1;
      } else if (d === '"') {
        let j = i + 1;
        for (; j < src.length && src[j] !== '"'; j += 1) {
          if (src[j] === '\\' && /["\\$`]/.test(src[j + 1] ?? '')) j += 1;
          value += src[j] ?? '';
        }
        collectVariables(src.slice(i + 1, j), variables);
        i = j + 1;
      } else if (d === '\\') {
        value += src[i + 1] ?? '';
        i += 2;
      } else if (d === '$' && src[i + 1] === '(') {
        // Command substitution: kept whole as part of the word.
        let depth = 0;
        let j = i + 1;
        for (; j < src.length; j += 1) {
          if (src[j] === '(') depth += 1;
          else if (src[j] === ')' && (depth -= 1) === 0) break;
        }
        value += src.slice(i, j + 1);
        i = j + 1;
      } else {
        if (d === '$') collectVariables(src.slice(i, i + 80), variables, true);
        value += d;
        i += 1;
      }
    }
    tokens.push({ kind: 'word', value, variables });
  }
  return tokens;
}

/** One typed command as simple commands joined by pipes and lists. */
export function parseCommand(text: string): SimpleCommand[] {
  const lines = text.split('\n');
  // The first line holds the command (continuations joined); here-document bodies follow it.
  let shell = lines[0] ?? '';
  let next = 1;
  while (shell.endsWith('\\') || scanLine(shell, null).quote !== null || scanLine(shell, null).continues) {
    if (next >= lines.length) break;
    shell = shell.endsWith('\\') ? `${shell.slice(0, -1)}${lines[next] ?? ''}` : `${shell}\n${lines[next] ?? ''}`;
    next += 1;
  }
  const bodies: string[] = [];
  let rest = lines.slice(next);
  for (const doc of scanLine(shell, null).heredocs) {
    const end = rest.findIndex((l) => (doc.strip ? l.replace(/^\t+/, '') : l) === doc.word);
    bodies.push(rest.slice(0, end === -1 ? rest.length : end).join('\n'));
    rest = end === -1 ? [] : rest.slice(end + 1);
  }

  const commands: SimpleCommand[] = [];
  let current = fresh();
  const tokens = tokenize(shell);
  for (let t = 0; t < tokens.length; t += 1) {
    const token = tokens[t];
    if (!token) continue;
    if (token.kind === 'op' && /^(?:&&|\|\||;|\||&)$/.test(token.value)) {
      current.next = token.value as Connector;
      commands.push(current);
      current = fresh();
      continue;
    }
    if (token.kind === 'op') {
      const target = tokens[t + 1];
      const word = target?.kind === 'word' ? target.value : '';
      if (target?.kind === 'word') t += 1;
      if (/<<-?$/.test(token.value)) current.heredoc = bodies.shift() ?? '';
      else current.redirects.push({ op: token.value, target: word });
      continue;
    }
    current.variables.push(...token.variables.filter((v) => !current.variables.includes(v)));
    if (current.words.length === 0 && /^[A-Za-z_]\w*=/.test(token.value)) {
      const eq = token.value.indexOf('=');
      current.assignments[token.value.slice(0, eq)] = token.value.slice(eq + 1);
    } else {
      current.words.push(token.value);
    }
  }
  commands.push(current);
  return commands.filter((c) => c.words.length > 0 || Object.keys(c.assignments).length > 0);
}

function fresh(): SimpleCommand {
  return { words: [], assignments: {}, redirects: [], heredoc: undefined, next: undefined, variables: [] };
}

/** `$NAME` and `${NAME}` in `text`; with `first`, only one at its start. */
function collectVariables(text: string, into: string[], first = false): void {
  for (const match of text.matchAll(/\$\{?([A-Za-z_]\w*)/g)) {
    if (first && match.index !== 0) break;
    if (match[1] && !into.includes(match[1])) into.push(match[1]);
    if (first) break;
  }
}
