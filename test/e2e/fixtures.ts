import { test as base, expect, type BrowserContext } from '@playwright/test';

/**
 * Every browser test also checks the Content-Security-Policy the server sends (issue 11): a page
 * that loads a script, style, image, font, worker or connection the policy refuses fails the
 * test that showed it, with the browser's own report. Tests run one at a time (one worker), so
 * the current test's list is module state.
 */

let violations: string[] = [];

/** Reports CSP violations of every page in this context (the default one is watched already). */
export async function watchCsp(context: BrowserContext): Promise<void> {
  context.on('console', (message) => {
    const text = message.text();
    if (/Content Security Policy/i.test(text)) violations.push(`${message.page()?.url() ?? ''}: ${text}`);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`Content Security Policy violation: ${event.violatedDirective} refused ${event.blockedURI || 'inline code'}`);
    });
  });
}

/** The violations reported so far in this test, cleared (for a test that provokes one on purpose). */
export function takeViolations(): string[] {
  const taken = violations;
  violations = [];
  return taken;
}

export const test = base.extend<{ csp: undefined }>({
  csp: [
    async ({ context }, use) => {
      violations = [];
      await watchCsp(context);
      await use(undefined);
      expect(violations, 'the page did something its Content-Security-Policy forbids').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
