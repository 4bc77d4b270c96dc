import { describe, expect, it } from 'vitest';
import { CHECK_KINDS } from '../../../server/vocabulary.ts';
import { loadLibrary } from '../../../server/lessons/library.ts';
import { fillPlaceholders, fillPlaceholdersDeep, unknownPlaceholders } from '../../../server/lessons/placeholders.ts';
import { lessonText, tempLibrary } from './temp-library.ts';

const LESSON = '01_beginner/01. A lesson.md';
const LAB = '01_beginner/01. A lesson.lab.yaml';

/** A valid lab; the tests change one thing at a time. Line numbers are noted where tests rely on them. */
const goodLab = [
  'sandbox:', //                                  1
  '  size: medium',
  'exercises:',
  '  - id: make-a-pod', //                        4
  '    title: Make a Pod',
  '    section: overview',
  '    instructions: |',
  '      Create a Pod named `web` in `${namespace}`.',
  '    checks:', //                                9
  '      - kind: resource', //                     10
  '        name: pod-exists',
  '        target: { apiVersion: v1, kind: Pod, name: web }',
  '    solution: solutions/make-a-pod', //        13
  '    wrong:',
  '      - path: wrong/no-pod', //                 15
  '        fails: pod-exists',
].join('\n');

async function loadWithLab(lab: string, extra: Record<string, string> = {}) {
  const dir = await tempLibrary({
    [LESSON]: lessonText(),
    [LAB]: lab,
    '01_beginner/solutions/make-a-pod/pod.yaml': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n',
    '01_beginner/wrong/no-pod/empty.yaml': '',
    ...extra,
  });
  return loadLibrary(dir);
}

describe('lab files', () => {
  it('parses a valid lab, with defaults', async () => {
    const library = await loadWithLab(goodLab);
    expect(library.errors).toEqual([]);
    expect(library.lessons[0]?.lab).toEqual({
      sandbox: { size: 'medium', nodes: 'auto' },
      setup: [],
      files: [],
      exercises: [
        {
          id: 'make-a-pod',
          title: 'Make a Pod',
          section: 'overview',
          instructions: 'Create a Pod named `web` in `${namespace}`.\n',
          hints: [],
          checks: [{ kind: 'resource', name: 'pod-exists', target: { apiVersion: 'v1', kind: 'Pod', name: 'web' } }],
          solution: 'solutions/make-a-pod',
          wrong: [{ path: 'wrong/no-pod', fails: 'pod-exists' }],
        },
      ],
    });
    const minimal = await loadWithLab(goodLab.replace('sandbox:\n  size: medium\n', ''));
    expect(minimal.lessons[0]?.lab?.sandbox).toEqual({ size: 'small', nodes: 'auto' });
  });

  it('takes where the sandbox’s Pods run, and names a wrong choice at its line', async () => {
    const simulated = await loadWithLab(goodLab.replace('  size: medium\n', '  size: medium\n  nodes: simulated\n'));
    expect(simulated.lessons[0]?.lab?.sandbox).toEqual({ size: 'medium', nodes: 'simulated' });
    const wrong = await loadWithLab(goodLab.replace('  size: medium\n', '  size: medium\n  nodes: real\n'));
    expect(wrong.errors).toEqual([{ file: LAB, line: 3, message: 'lab: sandbox.nodes: must be one of auto, simulated, got "real"' }]);
  });

  it('names an unknown check kind and the known ones, with field and line', async () => {
    const library = await loadWithLab(goodLab.replace('kind: resource', 'kind: http'));
    expect(library.errors).toEqual([
      { file: LAB, line: 10, message: `lab: exercises[0].checks[0].kind: unknown check kind "http"; known kinds: ${CHECK_KINDS.join(', ')}` },
    ]);
    expect(CHECK_KINDS).toEqual(['resource', 'crd', 'operator', 'scheduling', 'autoscaler', 'resources', 'networkpolicy', 'rollout', 'cel']);
    expect(library.lessons[0]?.lab).toBeNull();
  });

  it('refuses paths that leave the lab folder', async () => {
    const library = await loadWithLab(goodLab.replace('solution: solutions/make-a-pod', 'solution: ../elsewhere'));
    expect(library.errors).toEqual([{ file: LAB, line: 13, message: 'lab: exercises[0].solution: must be a relative path inside the lab folder (no "..", not absolute), got "../elsewhere"' }]);
  });

  it('reports a missing solution folder and a missing wrong path', async () => {
    const library = await loadWithLab(goodLab.replace('solutions/make-a-pod', 'solutions/nope').replace('wrong/no-pod', 'wrong/gone'));
    expect(library.errors).toEqual([
      { file: LAB, line: 13, message: 'lab: exercises[0].solution: folder "solutions/nope" does not exist in 01_beginner/ beside the lab file' },
      { file: LAB, line: 15, message: 'lab: exercises[0].wrong[0].path: file or folder "wrong/gone" does not exist in 01_beginner/ beside the lab file' },
    ]);
  });

  it('reports a solution that is a file, not a folder', async () => {
    const library = await loadWithLab(goodLab.replace('solutions/make-a-pod', 'solutions/make-a-pod/pod.yaml'));
    expect(library.errors).toEqual([{ file: LAB, line: 13, message: 'lab: exercises[0].solution: "solutions/make-a-pod/pod.yaml" is not a folder' }]);
  });

  it('reports unknown placeholders, and accepts the known ones and $${ escapes', async () => {
    // A function replacement: in a replacement string "$$" would mean a single "$".
    const library = await loadWithLab(goodLab.replace('in `${namespace}`.', () => 'in `${namespace}` as ${user} ($${HOME}).'));
    expect(library.errors).toEqual([
      {
        file: LAB,
        line: 7,
        message: 'lab: exercises[0].instructions: unknown placeholder "${user}"; known placeholders: ${namespace}, ${group}, ${priorityClassPrefix} (write "$${" for a literal "${")',
      },
    ]);
  });

  it('reports unknown fields and a missing key, each at its line', async () => {
    const library = await loadWithLab(goodLab.replace('    title: Make a Pod\n', '    hint: typo\n'));
    expect(library.errors).toEqual([
      { file: LAB, line: 4, message: 'lab: exercises[0].title: must be a non-empty title' },
      { file: LAB, line: 5, message: 'lab: exercises[0].hint: is not a field this file knows' },
    ]);
  });

  it('reports a wrong example that names no check, and a section that is not a heading', async () => {
    const fails = await loadWithLab(goodLab.replace('fails: pod-exists', 'fails: pod-exist'));
    expect(fails.errors).toEqual([{ file: LAB, line: 16, message: 'lab: exercises[0].wrong[0].fails: no check named "pod-exist" in this exercise (named checks: pod-exists)' }]);
    const section = await loadWithLab(goodLab.replace('section: overview', 'section: nowhere'));
    expect(section.errors).toEqual([{ file: LAB, line: 6, message: 'lab: exercises[0].section: no heading with id "nowhere" in the lesson' }]);
  });

  it('checks setup objects and files', async () => {
    const lab = `${goodLab}\nsetup:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {}\n  - file: setup/missing.yaml\nfiles:\n  - path: a.txt\n    content: x\n    from: home/a.txt\n`;
    const library = await loadWithLab(lab);
    expect(library.errors).toEqual([
      { file: LAB, line: 20, message: 'lab: setup[0].metadata: needs "name" or "generateName"' },
      { file: LAB, line: 23, message: 'lab: files[0]: needs exactly one of "content" or "from"' },
    ]);
    const missing = await loadWithLab(`${goodLab}\nsetup:\n  - file: setup/missing.yaml\n`);
    expect(missing.errors).toEqual([{ file: LAB, line: 18, message: 'lab: setup[0].file: file "setup/missing.yaml" does not exist in 01_beginner/ beside the lab file' }]);
  });

  it('reports broken YAML, an empty lab and a lab without a lesson', async () => {
    expect((await loadWithLab('exercises: [\n')).errors[0]).toMatchObject({ file: LAB, line: 2, message: expect.stringMatching(/^lab: invalid YAML: /) as unknown });
    expect((await loadWithLab('')).errors).toEqual([{ file: LAB, line: 1, message: 'lab: exercises: must be a list of exercises' }]);
    const orphan = await loadLibrary(await tempLibrary({ [LESSON]: lessonText(), '01_beginner/02. Gone.lab.yaml': goodLab }));
    expect(orphan.errors).toEqual([{ file: '01_beginner/02. Gone.lab.yaml', line: 1, message: 'lab: no lesson "02. Gone.md" beside this lab file' }]);
  });
});

describe('placeholders', () => {
  const values = { namespace: 'kd-ada-pods', group: 'ada.kubedojo.dev', priorityClassPrefix: 'kd-ada-' };

  it('fills known placeholders and unescapes $${', () => {
    expect(fillPlaceholders('ns ${namespace}, group ${group}, pc ${priorityClassPrefix}high, home $${HOME}', values)).toBe(
      'ns kd-ada-pods, group ada.kubedojo.dev, pc kd-ada-high, home ${HOME}',
    );
    expect(fillPlaceholdersDeep({ a: ['${namespace}', 3, { b: '${group}' }] }, values)).toEqual({ a: ['kd-ada-pods', 3, { b: 'ada.kubedojo.dev' }] });
    expect(unknownPlaceholders('${namespace} ${nope} $${fine} ${}')).toEqual(['nope', '']);
  });
});
