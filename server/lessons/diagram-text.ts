/**
 * A text alternative for a mermaid diagram, read from its source: what a screen reader says for
 * the drawn picture, and what anyone can open as "the diagram as text". Flowcharts (`graph`,
 * `flowchart`) become their boxes and arrows with labels in words; other diagram types keep
 * their source lines, which are text already.
 */

export interface DiagramText {
  /** One sentence: the kind of diagram and its size. */
  summary: string;
  /** One line per arrow ("Client Pod → CoreDNS: DNS: web.shop.svc.cluster.local"), then boxes with none. */
  lines: string[];
}

const DIRECTIONS: Record<string, string> = { TB: 'top to bottom', TD: 'top to bottom', BT: 'bottom to top', LR: 'left to right', RL: 'right to left' };
/** Opening and closing marks of mermaid's node shapes, longest first. */
const SHAPES: [string, string][] = [['(((', ')))'], ['([', '])'], ['[(', ')]'], ['[[', ']]'], ['[/', '/]'], ['[\\', '\\]'], ['[/', '\\]'], ['((', '))'], ['{{', '}}'], ['(', ')'], ['[', ']'], ['{', '}'], ['>', ']']];
const EDGE = /^\s*<?(?:--\s*"?([^"|>-][^"|>]*?)"?\s*-->|==\s*"?([^"|=>][^"|>]*?)"?\s*==>|-\.\s*"?([^"|>.][^"|>]*?)"?\s*\.->|-{2,}[>ox]?|={2,}>?|-\.+-?>?)(?:\|"?([^|"]*)"?\|)?/;

function words(label: string): string {
  return label
    .replace(/<br\s*\/?>/gi, ', ')
    .replace(/<[^>]+>/g, '')
    .replace(/&[a-z]+;|#quot;/gi, ' ')
    .replace(/\s+/g, ' ')
    .replace(/,\s*,/g, ',')
    .replace(/:\s*,/g, ':')
    .trim();
}

interface Cursor {
  text: string;
  at: number;
}

/** A node reference (`ID`, `ID[label]`, `ID{"label"}` …) at the cursor: its id, and its label if it has one here. */
function node(cursor: Cursor): { id: string; label?: string } | undefined {
  const rest = cursor.text.slice(cursor.at);
  const id = /^\s*([A-Za-z0-9_][\w-]*)/.exec(rest);
  if (!id?.[1]) return undefined;
  cursor.at += id[0].length;
  const after = cursor.text.slice(cursor.at);
  const shape = SHAPES.find(([open]) => after.startsWith(open));
  if (!shape) return { id: id[1] };
  const [open, close] = shape;
  let i = open.length;
  let label: string;
  if (after[i] === '"') {
    const end = after.indexOf('"', i + 1);
    label = after.slice(i + 1, end === -1 ? after.length : end);
    i = end === -1 ? after.length : end + 1;
    const closeAt = after.indexOf(close, i);
    i = closeAt === -1 ? after.length : closeAt + close.length;
  } else {
    const closeAt = after.indexOf(close, i);
    label = after.slice(i, closeAt === -1 ? after.length : closeAt);
    i = closeAt === -1 ? after.length : closeAt + close.length;
  }
  cursor.at += i;
  return { id: id[1], label: words(label) };
}

/** The text alternative of one mermaid source. */
export function describeDiagram(source: string): DiagramText {
  const lines = source.split('\n').map((l) => l.replace(/%%.*$/, '').trim()).filter((l) => l !== '');
  const header = /^(?:graph|flowchart)\s*(TB|TD|BT|LR|RL)?/i.exec(lines[0] ?? '');
  if (!header) {
    const kind = (lines[0] ?? 'diagram').split(/\s/)[0] ?? 'diagram';
    return { summary: `A ${kind} diagram; its source follows.`, lines: lines.slice(1) };
  }
  const labels = new Map<string, string>();
  const order: string[] = [];
  const arrows: { from: string; to: string; label: string; group: string | undefined }[] = [];
  const groups: string[] = [];
  const groupOf = new Map<string, string>();
  const see = (ref: { id: string; label?: string }) => {
    if (!order.includes(ref.id)) order.push(ref.id);
    const group = groups.at(-1);
    if (group !== undefined && !groupOf.has(ref.id)) groupOf.set(ref.id, group);
    if (ref.label !== undefined && ref.label !== '') labels.set(ref.id, ref.label);
  };
  for (const line of lines.slice(1)) {
    if (/^(?:style|classDef|class|linkStyle|click|direction)\b/.test(line)) continue;
    if (/^end\b/.test(line)) {
      groups.pop();
      continue;
    }
    const sub = /^subgraph\s+([\w-]+)?\s*(?:\["?([^"\]]*)"?\])?\s*(.*)$/.exec(line);
    if (sub) {
      groups.push(words(sub[2] ?? (sub[3] || sub[1] || 'a group')));
      continue;
    }
    const cursor: Cursor = { text: line, at: 0 };
    let previous: string[] = [];
    let edgeLabel = '';
    for (;;) {
      // One node, or several joined by "&", then an arrow to the next, and so on along the line.
      const group: string[] = [];
      let ref = node(cursor);
      while (ref) {
        see(ref);
        group.push(ref.id);
        const amp = /^\s*&/.exec(cursor.text.slice(cursor.at));
        if (!amp) break;
        cursor.at += amp[0].length;
        ref = node(cursor);
      }
      if (group.length === 0) break;
      for (const from of previous) for (const to of group) arrows.push({ from, to, label: edgeLabel, group: groups.at(-1) });
      const edge = EDGE.exec(cursor.text.slice(cursor.at));
      if (!edge) break;
      cursor.at += edge[0].length;
      edgeLabel = words(edge[1] ?? edge[2] ?? edge[3] ?? edge[4] ?? '');
      previous = group;
    }
  }
  const name = (id: string) => labels.get(id) ?? id;
  const connected = new Set(arrows.flatMap((a) => [a.from, a.to]));
  const held = [...new Set(groupOf.values())].map((group) => `“${group}” holds: ${order.filter((id) => groupOf.get(id) === group).map(name).join('; ')}`);
  const text = [
    ...held,
    ...arrows.map((a) => `${a.group ? `In “${a.group}”: ` : ''}${name(a.from)} → ${name(a.to)}${a.label ? ` (${a.label})` : ''}`),
    ...order.filter((id) => !connected.has(id)).map((id) => `${name(id)}, on its own`),
  ];
  const direction = DIRECTIONS[(header[1] ?? 'TB').toUpperCase()] ?? 'top to bottom';
  const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  return { summary: `A flowchart from ${direction}: ${count(order.length, 'box', 'boxes')} and ${count(arrows.length, 'arrow', 'arrows')}.`, lines: text };
}
