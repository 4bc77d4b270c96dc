import type { FrameLocator, Locator, Page } from '@playwright/test';
import type { Scope } from './scope.ts';

/** A course page of the mock LMS: its kubedojo activities, opened in the iframe `tool`. */
export class MockLmsCourse {
  readonly page: Page;
  /** kubedojo, inside the LMS's iframe. */
  readonly frame: FrameLocator;
  readonly addActivity: Locator;

  constructor(page: Page) {
    this.page = page;
    this.frame = page.frameLocator('[data-testid="tool-frame"]');
    this.addActivity = page.getByTestId('add-activity');
  }

  async open(lmsUrl: string, course: string, user: string): Promise<void> {
    await this.page.goto(`${lmsUrl}/course/${course}?user=${encodeURIComponent(user)}`);
  }

  activity(linkId: string): Locator {
    return this.page.getByTestId(`open-${linkId}`);
  }
}

/** The mock LMS admin's page that installs a tool from its registration URL. */
export class MockLmsTools {
  readonly page: Page;
  readonly toolUrl: Locator;
  readonly register: Locator;
  readonly status: Locator;
  readonly frame: FrameLocator;

  constructor(page: Page) {
    this.page = page;
    this.toolUrl = page.getByTestId('tool-url');
    this.register = page.getByTestId('register-tool');
    this.status = page.getByTestId('registration-status');
    this.frame = page.frameLocator('[data-testid="registration-frame"]');
  }
}

/** kubedojo's deep linking picker (inside the LMS's iframe). */
export class DeepLinkPicker {
  readonly scope: Scope;
  readonly submit: Locator;

  constructor(scope: Scope) {
    this.scope = scope;
    this.submit = scope.getByTestId('dl-submit');
  }

  item(lesson: string, exercise?: string): Locator {
    return this.scope.getByTestId(`dl-item-${exercise ? `${lesson}-${exercise}` : lesson}`);
  }
}

/** The LTI card of kubedojo's admin page. */
export class LtiAdminCard {
  readonly newLink: Locator;
  readonly registrationUrl: Locator;
  readonly platforms: Locator;

  constructor(page: Page) {
    this.newLink = page.getByTestId('lti-new-link');
    this.registrationUrl = page.getByTestId('lti-registration-url');
    this.platforms = page.getByTestId('lti-platforms');
  }
}
