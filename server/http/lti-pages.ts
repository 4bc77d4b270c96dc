import type { Request } from 'express';

/**
 * The few HTML pages kubedojo serves to an LMS's frame itself (the web client serves the rest):
 * what went wrong with a launch or registration, and "registered". Plain, self-contained, with
 * every value escaped.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const STYLE = 'body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}h1{font-size:1.4rem}.kd{color:#326ce5;font-weight:700}code{background:#eef1f5;padding:0 .2em;border-radius:3px}';

/** Tells the LMS that opened the registration page to close it (LTI Dynamic Registration). */
export const REGISTERED_SCRIPT_PATH = '/lti/registered.js';
export const REGISTERED_SCRIPT = "(window.opener||window.parent).postMessage({subject:'org.imsglobal.lti.close'},'*');\n";

function page(title: string, body: string, script = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} · kubedojo</title><style>${STYLE}</style></head><body><p class="kd">kubedojo</p>${body}${script}</body></html>`;
}

/** Whether an error on this request is shown as a page: the LMS-facing endpoints, opened by a browser. */
export function wantsLtiPage(req: Request): boolean {
  return (req.path.startsWith('/lti/') || req.path === '/lti') && req.accepts(['json', 'html']) === 'html';
}

/** A launch or registration that cannot go on, with what was wrong (typed errors say it plainly). */
export function ltiErrorPage(status: number, message: string, issues: readonly { field: string; message: string }[] = []): string {
  const heading = status === 503 ? 'The LMS could not be reached' : status >= 500 ? 'Something went wrong' : 'This LMS launch cannot continue';
  const list = issues.length > 0 ? `<ul data-testid="lti-issues">${issues.map((i) => `<li><code>${escapeHtml(i.field)}</code> ${escapeHtml(i.message)}</li>`).join('')}</ul>` : '';
  return page(heading, `<h1>${escapeHtml(heading)}</h1><p data-testid="lti-error">${escapeHtml(message)}</p>${list}<p>If this keeps happening, show this page to the person who set up kubedojo in your LMS.</p>`);
}

/** Dynamic registration finished: tell the LMS to close its registration frame (LTI DR §3.6). */
export function registeredPage(name: string, clientId: string, deployments: readonly string[]): string {
  const note = deployments.length === 0 ? '<p>The LMS has not named a deployment yet. Launches are refused until one is registered: the first launch shows the command that adds it.</p>' : '';
  // The close message carries nothing secret; its target is whichever window opened the frame.
  // A file of our own, not inline: the Content-Security-Policy allows scripts from 'self' only.
  const script = `<script src="${REGISTERED_SCRIPT_PATH}"></script>`;
  return page('Registered', `<h1 data-testid="lti-registered">kubedojo is registered with ${escapeHtml(name)}</h1><p>Client id <code>${escapeHtml(clientId)}</code>${deployments.length > 0 ? `, deployment <code>${escapeHtml(deployments.join(', '))}</code>` : ''}.</p>${note}<p>You can close this window.</p>`, script);
}
