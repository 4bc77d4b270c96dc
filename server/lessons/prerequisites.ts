import type { LineMessage } from './front-matter.ts';
import { LESSON_LEVELS, type LessonLevel } from '../vocabulary.ts';
import type { Prerequisite } from './types.ts';

/**
 * Prerequisites are lesson numbers, and numbers repeat across levels. A number resolves to the
 * lesson with that number the lesson links to (its author's own pointer), else one in the same
 * level (never the lesson itself), else the nearest lower level, else any level. What cannot be resolved, and cycles, are warnings; nothing here loops.
 */

export interface PrerequisiteInput {
  slug: string;
  level: LessonLevel;
  number: number;
  prerequisites: readonly number[];
  /** Line of each entry, and of the `prerequisites` key for messages about the whole list. */
  lines: readonly number[];
  keyLine: number;
  /** Lesson slugs this lesson links to, and links to lessons not in the library (as written). */
  links?: readonly string[];
  unresolvedLinks?: readonly string[];
}

export interface PrerequisiteResult {
  resolved: Map<string, Prerequisite[]>;
  warnings: Map<string, LineMessage[]>;
}

const rank = (level: LessonLevel) => LESSON_LEVELS.indexOf(level);

function choose(lesson: PrerequisiteInput, candidates: readonly PrerequisiteInput[]): PrerequisiteInput | undefined {
  const others = candidates.filter((c) => c.slug !== lesson.slug);
  // The lesson's own links say which lesson of that number its author meant.
  const linked = others.filter((c) => lesson.links?.includes(c.slug));
  if (linked.length === 1) return linked[0];
  const own = rank(lesson.level);
  const same = others.find((c) => rank(c.level) === own);
  if (same) return same;
  const lower = others.filter((c) => rank(c.level) < own).sort((a, b) => rank(b.level) - rank(a.level));
  if (lower[0]) return lower[0];
  return [...others].sort((a, b) => rank(a.level) - rank(b.level))[0];
}

export function resolvePrerequisites(lessons: readonly PrerequisiteInput[]): PrerequisiteResult {
  const byNumber = new Map<number, PrerequisiteInput[]>();
  for (const lesson of lessons) byNumber.set(lesson.number, [...(byNumber.get(lesson.number) ?? []), lesson]);

  const resolved = new Map<string, Prerequisite[]>();
  const warnings = new Map<string, LineMessage[]>();
  const warn = (slug: string, line: number, message: string) => warnings.set(slug, [...(warnings.get(slug) ?? []), { line, message }]);
  const edges = new Map<string, string[]>();

  for (const lesson of lessons) {
    const list: Prerequisite[] = [];
    const seen = new Set<number>();
    lesson.prerequisites.forEach((number, i) => {
      const line = lesson.lines[i] ?? lesson.keyLine;
      if (seen.has(number)) {
        warn(lesson.slug, line, `prerequisite ${number} is listed twice`);
        return;
      }
      seen.add(number);
      const target = choose(lesson, byNumber.get(number) ?? []);
      if (target) {
        list.push({ number, slug: target.slug });
        edges.set(lesson.slug, [...(edges.get(lesson.slug) ?? []), target.slug]);
      } else {
        list.push({ number, slug: null });
        // A link to a lesson file numbered like this one, but missing, is the lesson the author meant.
        const meant = lesson.unresolvedLinks?.find((href) => new RegExp(`(?:^|/)0*${number}\\.[^/]*\\.md(?:#.*)?$`).test(href));
        const hint = meant ? `; it links to ${meant}, a lesson ${number} that is not in this library` : '';
        warn(lesson.slug, line, `${number === lesson.number ? `prerequisite ${number} is this lesson itself` : `prerequisite ${number} matches no lesson in this library`}${hint}`);
      }
    });
    resolved.set(lesson.slug, list);
  }

  for (const cycle of findCycles(lessons.map((l) => l.slug), edges)) {
    for (let i = 0; i < cycle.length; i += 1) {
      const rotated = [...cycle.slice(i), ...cycle.slice(0, i)];
      const lesson = lessons.find((l) => l.slug === rotated[0]);
      if (lesson) warn(lesson.slug, lesson.keyLine, `prerequisites form a cycle: ${[...rotated, rotated[0]].join(' → ')}`);
    }
  }
  return { resolved, warnings };
}

/**
 * One cycle per strongly connected component of more than one lesson (Tarjan, iterative so a
 * long chain cannot overflow the stack).
 */
export function findCycles(nodes: readonly string[], edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;

  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: { node: string; next: number }[] = [{ node: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter);
    counter += 1;
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      if (!frame) break;
      const targets = edges.get(frame.node) ?? [];
      if (frame.next < targets.length) {
        const target = targets[frame.next] ?? '';
        frame.next += 1;
        if (!index.has(target)) {
          index.set(target, counter);
          low.set(target, counter);
          counter += 1;
          stack.push(target);
          onStack.add(target);
          work.push({ node: target, next: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node) ?? 0, index.get(target) ?? 0));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node) ?? 0, low.get(frame.node) ?? 0));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string | undefined;
        do {
          member = stack.pop();
          if (member === undefined) break;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        if (component.length > 1) components.push(component);
      }
    }
  }

  return components.map((component) => cycleWithin(component, edges, nodes));
}

/** A simple cycle through the component's first node (in library order), by breadth-first search back to it. */
function cycleWithin(component: readonly string[], edges: ReadonlyMap<string, readonly string[]>, order: readonly string[]): string[] {
  const members = new Set(component);
  const start = order.find((n) => members.has(n)) ?? component[0] ?? '';
  const previous = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head += 1) {
    const node = queue[head] ?? '';
    for (const target of edges.get(node) ?? []) {
      if (!members.has(target)) continue;
      if (target === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(previous.get(path[0] ?? '') ?? start);
        return path;
      }
      if (!previous.has(target)) {
        previous.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start];
}
