/**
 * Draws mermaid diagrams in the browser. The mermaid package is large, so it is loaded only
 * on pages that have diagrams (Vite splits the dynamic import into its own chunk). Each drawn
 * diagram is an image named by its text alternative (rendered by the server from the source,
 * beside it as "The diagram as text"); diagrams are drawn again when the theme changes, so
 * arrows and labels keep their contrast in the dark.
 */
let counter = 0;

/** Text never smaller than this share of its natural size: beyond, the diagram scrolls instead. */
const MIN_SCALE = 0.75;
/** The most of the window's height a diagram may take before it scrolls. */
const MAX_HEIGHT_SHARE = 0.75;

const DARK = {
  background: '#171a21',
  primaryColor: '#1f3a5f',
  primaryTextColor: '#e6e9ef',
  primaryBorderColor: '#6b9bff',
  lineColor: '#c9d1d9',
  secondaryColor: '#2a2f3a',
  tertiaryColor: '#1f232c',
  edgeLabelBackground: '#2a2f3a',
  textColor: '#e6e9ef',
};

/** Sizes a drawn diagram: as large as it was drawn, smaller to fit the column and the window, never tiny. */
function fit(figure: HTMLElement, svg: SVGSVGElement): void {
  const box = svg.viewBox.baseVal;
  if (!box.width || !box.height) return;
  const width = figure.clientWidth || box.width;
  const scale = Math.max(MIN_SCALE, Math.min(1, width / box.width, (window.innerHeight * MAX_HEIGHT_SHARE) / box.height));
  svg.style.maxWidth = 'none';
  svg.setAttribute('width', String(Math.round(box.width * scale)));
  svg.setAttribute('height', String(Math.round(box.height * scale)));
  figure.dataset.scale = scale.toFixed(2);
  // Too big even so: it scrolls, and a keyboard can scroll it too.
  const scrolls = box.width * scale > width + 1 || box.height * scale > window.innerHeight * 0.8;
  figure.classList.toggle('scrolls', scrolls);
  if (scrolls) figure.tabIndex = 0;
  else figure.removeAttribute('tabindex');
}

export async function drawDiagrams(root: HTMLElement): Promise<void> {
  const blocks = [...root.querySelectorAll<HTMLElement>('.diagram[data-diagram="mermaid"]')];
  if (blocks.length === 0) return;
  const { default: mermaid } = await import('mermaid');
  const dark = document.documentElement.dataset.theme === 'dark';
  mermaid.initialize({
    startOnLoad: false,
    securityLevel: 'strict',
    theme: dark ? 'dark' : 'default',
    ...(dark ? { themeVariables: DARK } : {}),
    flowchart: { htmlLabels: true, useMaxWidth: false },
  });
  for (const block of blocks) {
    const source = block.querySelector<HTMLElement>('.mermaid-source');
    const text = block.querySelector<HTMLDetailsElement>('.diagram-text');
    if (!source) continue;
    counter += 1;
    try {
      const { svg } = await mermaid.render(`kd-diagram-${counter}`, source.textContent);
      const figure = document.createElement('figure');
      figure.className = 'diagram-drawn';
      figure.setAttribute('role', 'img');
      figure.setAttribute('aria-label', `Diagram. ${text?.querySelector('p')?.textContent ?? ''}`.trim());
      // The description is the text itself (read even while "The diagram as text" is closed).
      const body = text?.querySelector<HTMLElement>('.diagram-text-body');
      if (body) {
        body.id ||= `kd-diagram-text-${counter}`;
        figure.setAttribute('aria-describedby', body.id);
      }
      // mermaid's strict security level sanitizes labels before producing this SVG.
      figure.innerHTML = svg;
      block.querySelector('.diagram-drawn')?.remove();
      source.before(figure);
      source.hidden = true;
      const drawn = figure.querySelector('svg');
      if (drawn) fit(figure, drawn);
      block.dataset.drawn = 'true';
      block.dataset.theme = dark ? 'dark' : 'light';
    } catch (error) {
      block.dataset.drawn = 'failed';
      const note = document.createElement('p');
      note.className = 'problem';
      note.textContent = `This diagram could not be drawn: ${error instanceof Error ? error.message : String(error)}`;
      block.append(note);
    }
  }
}

/** Draws the page's diagrams again in the other theme's colours. */
export function redrawOnThemeChange(root: HTMLElement): void {
  const observer = new MutationObserver(() => {
    if (!root.isConnected) {
      observer.disconnect();
      return;
    }
    void drawDiagrams(root);
  });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
}
