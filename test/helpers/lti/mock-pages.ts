import type { MockCourse, MockLink, MockPlatform, MockUser } from './mock-platform.ts';
import { ROLE } from './mock-platform.ts';

/** The mock LMS's pages, as a teacher or student sees them: the course with the tool in an iframe. */

export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

const STYLE = '<style>body{font-family:sans-serif;margin:1rem}iframe{width:100%;height:900px;border:2px solid #888}</style>';

/** A course page: its kubedojo links opening in the iframe `tool`; an instructor can add one (deep linking). */
export function coursePage(mock: MockPlatform, course: MockCourse, user: MockUser): string {
  const teaching = (user.roles[course.id] ?? []).includes(ROLE.instructor);
  const links = [...mock.links.values()].filter((l) => l.course === course.id);
  const list = links.map((l) => `<li><a data-testid="open-${esc(l.id)}" target="tool" href="/launch/${esc(l.id)}?user=${encodeURIComponent(user.sub)}">${esc(l.title)}</a></li>`).join('');
  const add = teaching ? `<p><a data-testid="add-activity" target="tool" href="/deep-link/${esc(course.id)}?user=${encodeURIComponent(user.sub)}">Add a kubedojo activity</a></p>` : '';
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(course.title)} · Mock LMS</title>${STYLE}</head><body>
<h1 data-testid="course-title">${esc(course.title)}</h1><p data-testid="lms-user">${esc(user.name)}</p>
<ul data-testid="activities">${list}</ul>${add}
<iframe name="tool" data-testid="tool-frame" title="kubedojo" allow="clipboard-write"></iframe>
</body></html>`;
}

/** The LMS admin's "add a tool by its registration URL" page (how Moodle and Canvas do it). */
export function adminToolsPage(mock: MockPlatform): string {
  const config = JSON.stringify(`${mock.url}/.well-known/openid-configuration`);
  const token = JSON.stringify(mock.registrationToken);
  return `<!doctype html><html><head><meta charset="utf-8"><title>Tools · Mock LMS</title>${STYLE}</head><body>
<h1>External tools</h1>
<form id="f"><label>Tool URL <input data-testid="tool-url" id="u" size="80"></label> <button data-testid="register-tool">Add LTI Advantage</button></form>
<p data-testid="registration-status">No tool registered.</p>
<iframe name="registration" data-testid="registration-frame" title="registration"></iframe>
<script>
document.getElementById('f').addEventListener('submit', (e) => {
  e.preventDefault();
  const url = new URL(document.getElementById('u').value);
  url.searchParams.set('openid_configuration', ${config});
  url.searchParams.set('registration_token', ${token});
  document.querySelector('iframe').src = url.toString();
});
window.addEventListener('message', async (e) => {
  if (!e.data || e.data.subject !== 'org.imsglobal.lti.close') return;
  const { tool } = await (await fetch('/tool-status')).json();
  document.querySelector('[data-testid=registration-status]').textContent = tool ? 'Registered ' + tool.clientId + ' (deployment ' + tool.deploymentId + ')' : 'The tool closed without registering.';
});
</script></body></html>`;
}

/** What the LMS shows after the tool returned content items. */
export function deepLinkReturnPage(added: MockLink[]): string {
  return `<!doctype html><html><body><h1>Added to the course</h1><ul data-testid="added">${added.map((l) => `<li>${esc(l.title)}</li>`).join('')}</ul></body></html>`;
}
