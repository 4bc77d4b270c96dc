import { describe, expect, it } from 'vitest';
import { compileLesson } from '../../../server/lessons/compile.ts';
import { gradeAnswer, publicQuiz } from '../../../server/lessons/quiz.ts';

/** Compiles a body whose line 1 is the first line of `lines`. */
function compile(...lines: string[]) {
  return compileLesson({ file: '01_beginner/01. Quiz.md', slug: 'quiz-lesson', body: lines.join('\n') }, {});
}

describe('quiz extraction', () => {
  it('extracts questions with answers and explanations, rendering inline markdown', () => {
    const result = compile(
      '# Title', //                                        1
      '',
      '## Quiz',
      '',
      '### Question 1', //                                 5
      'Which `kubectl` verb **reads** objects?',
      '',
      '**A)** `get`  ',
      '**B)** `apply`  ',
      '**C)** <img src=x onerror=alert(1)>', //            10
      '',
      '**Answer: A** - `get` only reads; see [the docs](https://kubernetes.io/docs/).',
      '',
      'A second paragraph of explanation.',
    );
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.quiz).toHaveLength(1);
    const q = result.quiz[0];
    expect(q).toMatchObject({
      id: 'q1',
      number: 1,
      question: 'Which `kubectl` verb **reads** objects?',
      options: { A: '`get`', B: '`apply`', C: '<img src=x onerror=alert(1)>' },
      optionsHtml: { A: '<code>get</code>', B: '<code>apply</code>', C: '&lt;img src=x onerror=alert(1)&gt;' },
      answer: 'A',
      explanation: '`get` only reads; see [the docs](https://kubernetes.io/docs/).\n\nA second paragraph of explanation.',
      line: 5,
    });
    expect(q?.questionHtml).toBe('<p>Which <code>kubectl</code> verb <strong>reads</strong> objects?</p>\n');
    expect(q?.explanationHtml).toContain('<code>get</code> only reads; see <a href="https://kubernetes.io/docs/" rel="noopener noreferrer" target="_blank">the docs</a>.');
    expect(q?.explanationHtml).toContain('<p>A second paragraph of explanation.</p>');

    const html = result.rendered.html;
    expect(html).toContain('<section class="quiz" id="quiz" data-quiz="quiz-lesson">');
    expect(html).toContain('<fieldset class="quiz-question" data-question="q1">');
    expect(html).toContain('<input type="radio" name="q1" value="C">');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('Answer');
    expect(html).not.toContain('only reads');
    expect(html).not.toContain('second paragraph');
  });

  it('reports a question without an answer line, at its heading', () => {
    const result = compile('## Quiz', '', '### Question 1', 'Which?', '', '**A)** One  ', '**B)** Two', '', '### Question 2', 'Next?', '', '**A)** X  ', '**B)** Y', '', '**Answer: B** - Y.');
    expect(result.errors).toEqual([{ line: 3, message: 'quiz question 1: no answer line; expected "**Answer: X** - explanation" after the options' }]);
    expect(result.quiz.map((q) => q.id)).toEqual(['q2']);
    expect(result.rendered.html).not.toContain('data-question="q1"');
  });

  it('reports an answer letter that is not among the options, at the answer line', () => {
    const result = compile('## Quiz', '', '### Question 4', 'Which?', '', '**A)** One  ', '**B)** Two  ', '**C)** Three', '', '**Answer: E** - Nope.');
    expect(result.errors).toEqual([{ line: 10, message: 'quiz question 4: answer "E" is not one of its options (A, B, C)' }]);
    expect(result.quiz).toEqual([]);
  });

  it('reports fewer than two options and duplicate letters', () => {
    const one = compile('## Quiz', '', '### Question 1', 'Which?', '', '**A)** Only', '', '**Answer: A** - Only.');
    expect(one.errors).toEqual([{ line: 6, message: 'quiz question 1: has 1 option; a question needs at least 2 lines like "**A)** text"' }]);
    const dup = compile('## Quiz', '', '### Question 2', 'Which?', '', '**A)** One  ', '**B)** Two  ', '**B)** Again', '', '**Answer: A** - One.');
    expect(dup.errors).toEqual([{ line: 8, message: 'quiz question 2: option B appears twice (lines 7 and 8)' }]);
    const none = compile('## Quiz', '', '### Question 3', 'Which?', '', '**Answer: A** - One.');
    expect(none.errors).toEqual([{ line: 3, message: 'quiz question 3: has 0 options; a question needs at least 2 lines like "**A)** text"' }]);
  });

  it('accepts options without the two trailing spaces, with a warning at the first such line', () => {
    const result = compile('## Quiz', '', '### Question 1', 'Which?', '', '**A)** One', '**B)** Two', '**C)** Three', '', '**Answer: C** - Three.');
    expect(result.errors).toEqual([]);
    expect(result.quiz[0]?.options).toEqual({ A: 'One', B: 'Two', C: 'Three' });
    expect(result.warnings).toEqual([
      { line: 6, message: 'quiz question 1: option lines A, B do not end with two spaces (a markdown hard break), so GitHub renders those options on one line' },
    ]);
  });

  it('copes with missing blank lines between question, options and answer', () => {
    const result = compile('## Quiz', '', '### Question 1', 'Which one?', '**A)** One  ', '**B)** Two  ', '**Answer: B** - Two.');
    expect(result.errors).toEqual([]);
    expect(result.quiz[0]).toMatchObject({ question: 'Which one?', options: { A: 'One', B: 'Two' }, answer: 'B', explanation: 'Two.' });
    expect(result.rendered.html).toContain('<p>Which one?</p>');
    expect(result.rendered.html).not.toContain('Two.');
  });

  it('reports a heading under the quiz that is not a question, and duplicate numbers', () => {
    const q = (n: number, line: string) => [line, 'Which?', '', '**A)** One  ', '**B)** Two', '', `**Answer: A** - ${n}.`, ''];
    const result = compile('## Quiz', '', ...q(1, '### Question 1'), ...q(2, '### Bonus round'), ...q(3, '### Question 1'));
    expect(result.errors).toEqual([
      { line: 11, message: 'quiz: "### Bonus round" is not a question heading; expected "### Question N"' },
      { line: 19, message: 'quiz: question 1 appears twice (lines 3 and 19)' },
    ]);
    expect(result.quiz).toHaveLength(1);
  });

  it('keeps the sections around the quiz', () => {
    const result = compile('## Overview', '', 'Hi.', '', '## Quiz', '', 'Answer honestly.', '', '### Question 1', 'Which?', '', '**A)** One  ', '**B)** Two', '', '**Answer: A** - One.', '', '## Related Topics', '', '- nothing');
    expect(result.sections).toEqual(['Overview', 'Quiz', 'Related Topics']);
    expect(result.rendered.toc.map((t) => t.id)).toEqual(['overview', 'quiz', 'related-topics']);
    expect(result.rendered.html).toMatch(/<section class="quiz"[^>]*>\n<h2>Quiz<\/h2>\n<p>Answer honestly.<\/p>\n<fieldset/);
    expect(result.rendered.html).toContain('</section>\n<h2 id="related-topics">Related Topics</h2>');
  });
});

describe('publicQuiz and gradeAnswer', () => {
  const lesson = compile('## Quiz', '', '### Question 1', 'Which?', '', '**A)** One  ', '**B)** Two', '', '**Answer: B** - Two is right.');

  it('leaves out answers and explanations', () => {
    const quiz = publicQuiz(lesson);
    expect(quiz).toEqual([{ id: 'q1', number: 1, question: 'Which?', questionHtml: '<p>Which?</p>\n', options: { A: 'One', B: 'Two' }, optionsHtml: { A: 'One', B: 'Two' } }]);
    expect(JSON.stringify(quiz)).not.toMatch(/answer|explanation|Two is right/);
  });

  it('grades on the server and only then gives the explanation', () => {
    expect(gradeAnswer(lesson, 'q1', 'A')).toEqual({ ok: true, correct: false, answer: 'B', explanation: 'Two is right.', explanationHtml: '<p>Two is right.</p>\n' });
    expect(gradeAnswer(lesson, 'q1', 'B')).toMatchObject({ ok: true, correct: true });
    expect(gradeAnswer(lesson, 'q1', 'Z')).toEqual({ ok: false, reason: 'unknown-option' });
    expect(gradeAnswer(lesson, 'q9', 'A')).toEqual({ ok: false, reason: 'unknown-question' });
    expect(gradeAnswer(lesson, 'q1', 'constructor')).toEqual({ ok: false, reason: 'unknown-option' });
  });
});
