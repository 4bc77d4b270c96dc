/**
 * Draws mermaid diagrams in the browser. The mermaid package is large, so it is loaded only
 * on pages that have diagrams (Vite splits the dynamic import into its own chunk).
 */
let counter = 0;

export async function drawDiagrams(root: HTMLElement): Promise<void> {
  const blocks = [...root.querySelectorAll<HTMLElement>('.diagram[data-diagram="mermaid"]')];
  if (blocks.length === 0) return;
  const { default: mermaid } = await import('mermaid');
  const dark = document.documentElement.dataset.theme === 'dark';
  mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: dark ? 'dark' : 'default', flowchart: { htmlLabels: true } });
  for (const block of blocks) {
    const source = block.querySelector('.mermaid-source')?.textContent ?? '';
    counter += 1;
    try {
      const { svg } = await mermaid.render(`kd-diagram-${counter}`, source);
      const figure = document.createElement('figure');
      figure.className = 'diagram-drawn';
      figure.setAttribute('role', 'img');
      figure.setAttribute('aria-label', 'Diagram');
      // mermaid's strict security level sanitizes labels before producing this SVG.
      figure.innerHTML = svg;
      block.replaceChildren(figure);
      block.dataset.drawn = 'true';
    } catch (error) {
      block.dataset.drawn = 'failed';
      const note = document.createElement('p');
      note.className = 'problem';
      note.textContent = `This diagram could not be drawn: ${error instanceof Error ? error.message : String(error)}`;
      block.append(note);
    }
  }
}
