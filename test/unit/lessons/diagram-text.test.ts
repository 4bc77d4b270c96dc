import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeDiagram } from '../../../server/lessons/diagram-text.ts';
import { projectRoot } from '../../helpers/cli.ts';

describe('a diagram as text', () => {
  it('reads a flowchart as its boxes and arrows, with labels, groups, chains and "&"', () => {
    const text = describeDiagram(
      [
        'flowchart LR',
        '  %% a comment',
        '  subgraph s1["Control plane"]',
        '    A["API server<br/>authn, authz"] -->|"stores"| E[(etcd)]',
        '  end',
        '  K[kubectl] -- apply --> A',
        '  A --> S{Scheduler} & C([Controllers])',
        '  S -.->|binds| N((Node)) --> P[Pod]',
        '  L[Lonely box]',
        '  style A fill:#fff',
        '  classDef x stroke:#000',
      ].join('\n'),
    );
    expect(text.summary).toBe('A flowchart from left to right: 8 boxes and 6 arrows.');
    expect(text.lines).toEqual([
      '“Control plane” holds: API server, authn, authz; etcd',
      'In “Control plane”: API server, authn, authz → etcd (stores)',
      'kubectl → API server, authn, authz (apply)',
      'API server, authn, authz → Scheduler',
      'API server, authn, authz → Controllers',
      'Scheduler → Node (binds)',
      'Node → Pod',
      'Lonely box, on its own',
    ]);
  });

  it('says "1 box and 1 arrow", and keeps other diagram kinds as their source lines', () => {
    expect(describeDiagram('graph TD\n  a --> b').summary).toBe('A flowchart from top to bottom: 2 boxes and 1 arrow.');
    expect(describeDiagram('graph TD\n  a').summary).toBe('A flowchart from top to bottom: 1 box and 0 arrows.');
    expect(describeDiagram('sequenceDiagram\n  Alice->>Bob: Hello\n  Bob-->>Alice: Hi')).toEqual({
      summary: 'A sequenceDiagram diagram; its source follows.',
      lines: ['Alice->>Bob: Hello', 'Bob-->>Alice: Hi'],
    });
  });

  it('describes every diagram of the curriculum in words, with no mermaid syntax left over', async () => {
    let flowcharts = 0;
    for (const file of ['02_intermediate/01. Kubernetes Fundamentals.md', '03_advanced/01. Advanced Kubernetes Patterns.md']) {
      const source = await fs.readFile(path.join(projectRoot, 'lessons', file), 'utf8');
      for (const match of source.matchAll(/```mermaid\n([\s\S]*?)```/g)) {
        const text = describeDiagram(match[1] ?? '');
        expect(text.summary, file).toMatch(/^A flowchart from (top to bottom|left to right): \d+ box(es)? and \d+ arrows?\.$/);
        flowcharts += 1;
        expect(text.lines.length, `${file}: ${text.summary}`).toBeGreaterThan(2);
        for (const line of text.lines) expect(line, file).not.toMatch(/-->|==>|-\.->|\["|\]|<br|&quot;|#quot;|\|/);
      }
    }
    expect(flowcharts).toBe(11);
  });
});
