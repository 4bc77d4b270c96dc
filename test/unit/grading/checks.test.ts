import { describe, expect, it } from 'vitest';
import { exitCodeOf, formatJunit, formatText } from '../../../server/grading/format.ts';
import { allowedChange } from '../../../server/grading/kinds/autoscaler.ts';
import { sameSchedule } from '../../../server/grading/kinds/rollout.ts';
import { tolerates } from '../../../server/grading/kinds/scheduling.ts';
import type { CheckResult, GradeReport } from '../../../server/grading/types.ts';
import { loadLibrary } from '../../../server/lessons/library.ts';
import { lessonText, tempLibrary } from '../lessons/temp-library.ts';

describe('CronJob schedules compare by meaning', () => {
  it('treats equivalent spellings as the same schedule', () => {
    expect(sameSchedule('0 2 * * *', '0 2 */1 * *')).toBe(true);
    expect(sameSchedule('0 2 * * *', '0 2 1-31 * *')).toBe(true);
    expect(sameSchedule('@daily', '0 0 * * *')).toBe(true);
    expect(sameSchedule('0 2 * * 0', '0 2 * * 7')).toBe(true);
    expect(sameSchedule('0 2 * * SUN', '0 2 * * 0')).toBe(true);
  });

  it('tells different schedules apart, including the day-of-month/day-of-week OR rule', () => {
    expect(sameSchedule('0 2 * * *', '0 2 * * 0')).toBe(false);
    expect(sameSchedule('0 2 * * *', '0 3 * * *')).toBe(false);
    expect(sameSchedule('0 2 * * 1', '0 2 1-31 * 1')).toBe(false);
    expect(sameSchedule('0 2 * * *', 'not a schedule')).toBe(false);
  });
});

describe('HPA scaling rules compare by what they allow', () => {
  const percent100 = { selectPolicy: 'Max', policies: [{ type: 'Percent' as const, value: 100, periodSeconds: 30 }] };
  it('computes the controller arithmetic', () => {
    expect(allowedChange('scaleUp', percent100, 3)).toBe(3);
    expect(allowedChange('scaleUp', { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 30 }, { type: 'Pods', value: 4, periodSeconds: 30 }] }, 2)).toBe(4);
    expect(allowedChange('scaleUp', { selectPolicy: 'Min', policies: [{ type: 'Percent', value: 100, periodSeconds: 30 }, { type: 'Pods', value: 4, periodSeconds: 30 }] }, 2)).toBe(2);
    expect(allowedChange('scaleDown', { selectPolicy: 'Min', policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }, { type: 'Percent', value: 50, periodSeconds: 60 }] }, 10)).toBe(1);
    expect(allowedChange('scaleDown', { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }] }, 5)).toBe(2);
    expect(allowedChange('scaleUp', { selectPolicy: 'Disabled', policies: percent100.policies }, 5)).toBe(0);
  });
});

describe('tolerations', () => {
  const taint = { key: 'dedicated', value: 'batch', effect: 'NoSchedule' };
  it('follows the scheduler rules', () => {
    expect(tolerates({ key: 'dedicated', operator: 'Equal', value: 'batch', effect: 'NoSchedule' }, taint)).toBe(true);
    expect(tolerates({ key: 'dedicated', operator: 'Exists' }, taint)).toBe(true);
    expect(tolerates({ operator: 'Exists' }, taint)).toBe(true);
    expect(tolerates({ key: 'dedicated', value: 'batch' }, taint)).toBe(true);
    expect(tolerates({ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }, taint)).toBe(false);
    expect(tolerates({ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, taint)).toBe(false);
    expect(tolerates({ key: 'other', operator: 'Exists' }, taint)).toBe(false);
  });
});

describe('reports', () => {
  const check = (name: string, status: CheckResult['status'], extra: Partial<CheckResult> = {}): CheckResult => ({
    name,
    kind: 'resource',
    description: `check ${name}`,
    status,
    message: status === 'passed' ? 'fine' : 'spec.replicas: expected 3, found 1 <&>',
    durationMs: 120,
    attempts: 1,
    ...extra,
  });
  const report = (checks: CheckResult[]): GradeReport => ({
    lesson: 'l',
    namespace: 'kd-x',
    passed: checks.every((c) => c.status === 'passed'),
    exercises: [{ exercise: 'e', title: 'E', passed: checks.every((c) => c.status === 'passed'), checks, durationMs: 300 }],
    startedAt: '2026-11-30T00:00:00.000Z',
    durationMs: 300,
    notes: [],
  });

  it('exits 0 when all pass, 1 when one fails, 2 when one could not run', () => {
    expect(exitCodeOf(report([check('a', 'passed')]))).toBe(0);
    expect(exitCodeOf(report([check('a', 'passed'), check('b', 'failed')]))).toBe(1);
    expect(exitCodeOf(report([check('a', 'failed'), check('b', 'error')]))).toBe(2);
    expect(exitCodeOf(report([]))).toBe(1);
  });

  it('writes JUnit XML that CI systems read, escaped', () => {
    const xml = formatJunit(report([check('a', 'passed'), check('b', 'failed', { expected: 'spec.replicas: 3', found: 'spec.replicas: 1\u0001' }), check('c', 'error')]));
    expect(xml).toContain('<testsuites name="l" tests="3" failures="1" errors="1"');
    expect(xml).toContain('<testcase classname="l.e" name="b" time="0.120">');
    expect(xml).toContain('<failure message="spec.replicas: expected 3, found 1 &lt;&amp;&gt;" type="resource">');
    expect(xml).toContain('<error message=');
    expect(xml).not.toContain('\u0001');
  });

  it('shows expected, found and the hint for failures in text', () => {
    const text = formatText(report([check('b', 'failed', { expected: 'spec.replicas: 3', found: 'spec.replicas: 1', hint: 'look at replicas' })]));
    expect(text).toContain('FAIL  b: check b');
    expect(text).toContain('expected: spec.replicas: 3');
    expect(text).toContain('found:    spec.replicas: 1');
    expect(text).toContain('hint:     look at replicas');
    expect(text).toContain('0 of 1 checks passed, 1 failed');
  });
});

describe('check declarations in lab files', () => {
  const LAB = '01_beginner/01. A lesson.lab.yaml';
  async function errorsOf(checks: string): Promise<{ line: number; message: string }[]> {
    const lab = [
      'exercises:',
      '  - id: one',
      '    title: One',
      '    instructions: Do it.',
      '    solution: solution',
      '    checks:',
      checks,
    ].join('\n');
    const dir = await tempLibrary({ '01_beginner/01. A lesson.md': lessonText(), [LAB]: lab, '01_beginner/solution/a.yaml': '' });
    return (await loadLibrary(dir)).errors.filter((e) => e.file === LAB).map(({ line, message }) => ({ line, message }));
  }

  it('refuses a CEL expression that does not compile, at its line', async () => {
    const errors = await errorsOf(['      - kind: cel', '        target: { apiVersion: v1, kind: Pod, name: a }', '        expressions:', '          - expression: "object.spec.containers.all(c,"', '            message: m'].join('\n'));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.line).toBe(10);
    expect(errors[0]?.message).toMatch(/^lab: exercises\[0\]\.checks\[0\]\.expressions\[0\]\.expression: CEL expression does not compile: at 1:\d+/);
  });

  it('refuses a misspelt field and a missing one in a check kind', async () => {
    const errors = await errorsOf(['      - kind: scheduling', '        workloda: { apiVersion: apps/v1, kind: Deployment, name: a }', '        expect: { minPods: 1 }'].join('\n'));
    expect(errors).toEqual([
      { line: 7, message: 'lab: exercises[0].checks[0].workload: is required: a mapping {apiVersion, kind, name}' },
      { line: 8, message: 'lab: exercises[0].checks[0].workloda: is not a field this file knows' },
    ]);
  });

  it('refuses a target with both name and selector, and a rollout with two shapes', async () => {
    const errors = await errorsOf(
      [
        '      - kind: resource',
        '        target: { apiVersion: v1, kind: Pod, name: a, selector: { matchLabels: { app: a } } }',
        '      - kind: rollout',
        '        job: { name: a }',
        '        cronJob: { name: a, schedule: "0 2 * * *" }',
      ].join('\n'),
    );
    expect(errors.map((e) => e.message)).toEqual([
      'lab: exercises[0].checks[0].target: needs exactly one of "name" or "selector"',
      'lab: exercises[0].checks[1]: needs exactly one of canary, blueGreen, statefulSet, job or cronJob',
    ]);
  });
});
