import type { CheckResult, GradeReport } from './types.ts';

/** Reports for people (text), programs (JSON) and CI systems (JUnit XML). */

const MARK: Record<CheckResult['status'], string> = { passed: 'PASS', failed: 'FAIL', error: 'ERROR' };

export function summaryOf(report: GradeReport): { checks: number; passed: number; failed: number; errors: number } {
  const checks = report.exercises.flatMap((e) => e.checks);
  return {
    checks: checks.length,
    passed: checks.filter((c) => c.status === 'passed').length,
    failed: checks.filter((c) => c.status === 'failed').length,
    errors: checks.filter((c) => c.status === 'error').length,
  };
}

export function formatText(report: GradeReport): string {
  const lines: string[] = [];
  lines.push(`${report.lesson} in ${report.namespace}`);
  for (const note of report.notes) lines.push(`  note: ${note.replace(/\n/g, '\n        ')}`);
  for (const exercise of report.exercises) {
    lines.push('');
    lines.push(`${exercise.passed ? '✔' : '✘'} ${exercise.exercise}: ${exercise.title}  (${(exercise.durationMs / 1000).toFixed(1)} s)`);
    for (const check of exercise.checks) {
      lines.push(`  ${MARK[check.status].padEnd(5)} ${check.name}: ${check.description}`);
      if (check.status !== 'passed') {
        lines.push(`        ${check.message}`);
        const indent = (text: string) => text.replace(/\n/g, '\n                  ');
        if (check.expected !== undefined) lines.push(`        expected: ${indent(check.expected)}`);
        if (check.found !== undefined) lines.push(`        found:    ${indent(check.found)}`);
        if (check.hint !== undefined) lines.push(`        hint:     ${check.hint}`);
      }
    }
  }
  const s = summaryOf(report);
  lines.push('');
  lines.push(`${s.passed} of ${s.checks} checks passed${s.failed > 0 ? `, ${s.failed} failed` : ''}${s.errors > 0 ? `, ${s.errors} could not run` : ''} in ${(report.durationMs / 1000).toFixed(1)} s`);
  return `${lines.join('\n')}\n`;
}

function xml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    // XML 1.0 has no place for control characters other than tab and newlines.
    .split('')
    .filter((c) => c >= ' ' || c === '\t' || c === '\n' || c === '\r')
    .join('');
}

export function formatJunit(report: GradeReport, name = report.lesson): string {
  const s = summaryOf(report);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(`<testsuites name="${xml(name)}" tests="${s.checks}" failures="${s.failed}" errors="${s.errors}" time="${(report.durationMs / 1000).toFixed(3)}">`);
  for (const exercise of report.exercises) {
    const failed = exercise.checks.filter((c) => c.status === 'failed').length;
    const errors = exercise.checks.filter((c) => c.status === 'error').length;
    out.push(`  <testsuite name="${xml(`${report.lesson}/${exercise.exercise}`)}" tests="${exercise.checks.length}" failures="${failed}" errors="${errors}" time="${(exercise.durationMs / 1000).toFixed(3)}" timestamp="${report.startedAt}">`);
    for (const check of exercise.checks) {
      out.push(`    <testcase classname="${xml(`${report.lesson}.${exercise.exercise}`)}" name="${xml(check.name)}" time="${(check.durationMs / 1000).toFixed(3)}">`);
      const body = [check.message, check.expected !== undefined ? `expected: ${check.expected}` : '', check.found !== undefined ? `found: ${check.found}` : '', check.hint !== undefined ? `hint: ${check.hint}` : '']
        .filter(Boolean)
        .join('\n');
      if (check.status === 'failed') out.push(`      <failure message="${xml(check.message)}" type="${check.kind}">${xml(body)}</failure>`);
      if (check.status === 'error') out.push(`      <error message="${xml(check.message)}" type="${check.kind}">${xml(body)}</error>`);
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  if (report.notes.length > 0) out.push(`  <!-- ${xml(report.notes.join(' | ')).replace(/--/g, '- -')} -->`);
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}

/** 0 when everything passed, 1 when a check failed, 2 when a check could not run at all. */
export function exitCodeOf(report: GradeReport): 0 | 1 | 2 {
  const s = summaryOf(report);
  if (s.errors > 0) return 2;
  if (s.failed > 0 || s.checks === 0) return 1;
  return 0;
}
