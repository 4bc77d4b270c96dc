import type { Page } from '@playwright/test';

/** Where a page object finds its elements: a whole page, or a frame in it (kubedojo inside an LMS's iframe). */
export type Scope = Pick<Page, 'getByTestId' | 'getByRole' | 'locator'>;
