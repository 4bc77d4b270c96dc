import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileLesson } from '../../../server/lessons/compile.ts';
import { parseFrontMatter } from '../../../server/lessons/front-matter.ts';
import { githubSlug } from '../../../server/lessons/headings.ts';
import { classifyLink } from '../../../server/lessons/links.ts';
import { hasKubectlLine, isCompleteManifest } from '../../../server/lessons/manifests.ts';
import { fixtureLibrary } from './temp-library.ts';

describe('manifest and command detection', () => {
  it('offers "apply" only for blocks that are complete manifests', () => {
    const multi = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  generateName: web-\n---\n';
    expect(isCompleteManifest(multi)).toBe(true);
    expect(isCompleteManifest('# a comment first\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n')).toBe(true);
    expect(isCompleteManifest('versions:\n  - name: v1\n    served: true\n    storage: true\n')).toBe(false);
    expect(isCompleteManifest('kubectl apply -f - <<EOF\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\nEOF\n')).toBe(false);
    expect(isCompleteManifest('$ kubectl apply -f -\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n')).toBe(false);
    expect(isCompleteManifest('apiVersion: v1\nkind: Namespace\nmetadata: {}\n')).toBe(false);
    expect(isCompleteManifest('apiVersion: v1\nkind: Namespace\n')).toBe(false);
    expect(isCompleteManifest('apiVersion: 1\nkind: Namespace\nmetadata:\n  name: x\n')).toBe(false);
    expect(isCompleteManifest('')).toBe(false);
    expect(isCompleteManifest('a: [unclosed\n')).toBe(false);
  });

  it('offers "run" for shell blocks with a kubectl line', () => {
    expect(hasKubectlLine('# list\n$ kubectl get pods\n')).toBe(true);
    expect(hasKubectlLine('kubectl apply -f web.yaml')).toBe(true);
    expect(hasKubectlLine('for n in 1 2; do\n  kubectl get ns\ndone')).toBe(true);
    expect(hasKubectlLine('echo kubectl\n# kubectl get pods\nkubectlx version\n')).toBe(false);
  });
});

describe('links', () => {
  const lessons = { '01_beginner/01. Pods & Containers.md': 'pods', '02_intermediate/04. Monitoring & Observability.md': 'monitoring' };

  it('resolves URL-encoded relative links (spaces, &) to lesson pages, keeping the anchor', () => {
    expect(classifyLink('../02_intermediate/04.%20Monitoring%20%26%20Observability.md#metrics', '01_beginner/01. Pods & Containers.md', lessons)).toEqual({
      kind: 'lesson',
      slug: 'monitoring',
      href: '/lessons/monitoring#metrics',
    });
    expect(classifyLink('./01.%20Pods%20&%20Containers.md', '01_beginner/02. Other.md', lessons)).toMatchObject({ kind: 'lesson', slug: 'pods' });
  });

  it('marks lessons and files outside the library unavailable, and leaves anchors and mail alone', () => {
    expect(classifyLink('./02.%20Service%20Mesh.md', '01_beginner/01. Pods & Containers.md', lessons)).toEqual({ kind: 'unavailable', title: '02. Service Mesh.md is not in this library' });
    expect(classifyLink('../../README.md', '01_beginner/01. Pods & Containers.md', lessons)).toMatchObject({ kind: 'unavailable' });
    expect(classifyLink('./solution/web.yaml', '01_beginner/01. Pods & Containers.md', lessons)).toMatchObject({ kind: 'unavailable' });
    expect(classifyLink('%E0%A4%A.md', '01_beginner/01. Pods & Containers.md', lessons)).toMatchObject({ kind: 'unavailable' });
    expect(classifyLink('#overview', '01_beginner/x.md', lessons)).toEqual({ kind: 'keep' });
    expect(classifyLink('mailto:team@example.com', '01_beginner/x.md', lessons)).toEqual({ kind: 'keep' });
    expect(classifyLink('https://kubernetes.io/', '01_beginner/x.md', lessons)).toEqual({ kind: 'external', href: 'https://kubernetes.io/' });
  });
});

describe('rendering', () => {
  it('makes GitHub-style heading ids', () => {
    expect(githubSlug('1. A Service with no endpoints')).toBe('1-a-service-with-no-endpoints');
    expect(githubSlug('Hard Use-Case: Zero-Downtime Rollouts')).toBe('hard-use-case-zero-downtime-rollouts');
    expect(githubSlug('Monitoring & Observability')).toBe('monitoring--observability');
    expect(githubSlug('Pod `spec.affinity` (required)')).toBe('pod-specaffinity-required');
  });

  it('renders the fixture lesson for learners', async () => {
    const file = '01_beginner/01. Pods & Containers.md';
    const text = await fs.readFile(path.join(fixtureLibrary, file), 'utf8');
    const lessons = { [file]: 'pods-and-containers', '02_intermediate/02. Services & Networking.md': 'services-and-networking', '02_intermediate/01. Deployments.md': 'deployments' };
    const result = compileLesson({ file, slug: 'pods-and-containers', body: parseFrontMatter(text).body }, lessons);
    expect(result.errors).toEqual([]);
    const { html, toc, codeBlocks } = result.rendered;

    // The title is the page's; the body starts at the first section.
    expect(result.title).toBe('Pods & Containers');
    expect(html.startsWith('<h2 id="overview">Overview</h2>')).toBe(true);
    expect(html).not.toContain('<h1');
    // Raw HTML is text.
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script');
    // Unique ids, and a TOC of H2/H3.
    expect(toc.filter((t) => t.text === 'Overview').map((t) => t.id)).toEqual(['overview', 'overview-1']);
    expect(toc.map((t) => t.level)).toEqual([2, 2, 3, 3, 3, 3, 3, 2, 2, 2, 2]);
    const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);

    // Links.
    expect(html).toContain('<a href="/lessons/services-and-networking#service-types" data-lesson="services-and-networking">Services &amp; Networking</a>');
    expect(html).toContain('<a href="https://kubernetes.io/docs/concepts/workloads/pods/" rel="noopener noreferrer" target="_blank">Kubernetes docs</a>');
    expect(html).toContain('<span class="link-unavailable" title="05. Volumes and Storage.md is not in this library">storage lesson</span>');
    expect(result.links).toEqual({
      resolved: ['services-and-networking', 'https://kubernetes.io/docs/concepts/workloads/pods/', 'https://kubernetes.io/docs/reference/kubectl/', 'deployments'],
      unresolved: ['./05.%20Volumes%20and%20Storage.md'],
    });
    expect(result.warnings).toEqual([
      { line: 21, message: 'link "./05.%20Volumes%20and%20Storage.md" points to a lesson or file that is not in this library; it is shown as unavailable' },
    ]);

    // Code blocks: apply for complete manifests only, run for shell with kubectl.
    expect(codeBlocks.map(({ index, lang, apply, run, line }) => ({ index, lang, apply, run, line }))).toEqual([
      { index: 0, lang: 'yaml', apply: true, run: false, line: 29 },
      { index: 1, lang: 'yaml', apply: true, run: false, line: 44 },
      { index: 2, lang: 'yaml', apply: false, run: false, line: 64 },
      { index: 3, lang: 'yaml', apply: false, run: false, line: 73 },
      { index: 4, lang: 'bash', apply: false, run: true, line: 84 },
      { index: 5, lang: 'bash', apply: false, run: false, line: 89 },
    ]);
    expect(html).toContain('<div class="code-block" data-lang="yaml" data-index="1" data-apply="true"><pre><code class="language-yaml"><span class="token key atrule">apiVersion</span>');
    expect(html).toContain('<div class="code-block" data-lang="yaml" data-index="2"><pre>');
    expect(html).toContain('<div class="code-block" data-lang="bash" data-index="4" data-run="true"><pre>');
    expect(html.match(/class="code-block"/g)).toHaveLength(6);

    // Diagrams are left for the browser to draw, escaped, with their text alternative beside them.
    expect(result.diagrams).toBe(1);
    expect(html).toContain(
      '<div class="diagram" data-diagram="mermaid"><pre class="mermaid-source">graph TB\n    P[&quot;Pod&lt;br/&gt;web&quot;] --&gt; C[Container]\n    style P fill:#4caf50\n</pre>' +
        '<details class="diagram-text"><summary>The diagram as text</summary><div class="diagram-text-body"><p>A flowchart from top to bottom: 2 boxes and 1 arrow.</p><ul><li>Pod, web → Container</li></ul></div></details></div>',
    );
  });

  it('shows unknown languages and oversized blocks escaped, unhighlighted', () => {
    const result = compileLesson({ file: 'x.md', slug: 'x', body: '```brainfuck\n<+>\n```\n\n```yaml\n' + 'a: <b>\n'.repeat(20_000) + '```\n' }, {});
    expect(result.rendered.html).toContain('<div class="code-block" data-lang="brainfuck" data-index="0"><pre><code class="language-brainfuck">&lt;+&gt;\n</code></pre></div>');
    expect(result.rendered.html).toContain('<code class="language-yaml">a: &lt;b&gt;\n');
  });
});
