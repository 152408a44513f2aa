import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { REPO_ROOT } from '../__testUtils__/backendProcess';
import {
  expectVisible,
  launchChromium,
  screenshot,
  signInAsGuest,
} from '../__testUtils__/browser';
import { Portal, startPortal } from '../__testUtils__/portal';

/**
 * What a developer and a platform admin see, in a real browser (issue 10):
 * the same built frontend, two backends on one sandbox, one signed in as the
 * example org's developer (guest, team-payments) and one as its platform
 * admin (ada, platform-admins in roles.yaml). The template editor is the
 * scaffolder's templateManagementPermission, which the policy grants to
 * platform admins only.
 */
jest.setTimeout(5 * 60_000);

const ADMIN = 'user:default/ada';
let developerPortal: Portal;
let adminPortal: Portal;
let browser: Browser;

beforeAll(async () => {
  if (!fs.existsSync(path.join(REPO_ROOT, 'packages/app/dist/index.html'))) {
    throw new Error('the frontend is not built: run `yarn workspace app build` first');
  }
  developerPortal = await startPortal();
  adminPortal = await startPortal({
    sandbox: developerPortal.sandbox,
    config: { auth: { providers: { guest: { userEntityRef: ADMIN } } } },
  });
  browser = await launchChromium();
}, 5 * 60_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await adminPortal?.close();
  await developerPortal?.close();
}, 60_000);

async function signedIn(portal: Portal): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(30_000);
  await signInAsGuest(page, portal.baseUrl);
  return page;
}

/** Opens the Create page's "Template Editor" tab (the scaffolder's /create/edit). */
async function openTemplateEditor(page: Page, baseUrl: string) {
  await page.goto(`${baseUrl}/create`);
  await expectVisible(
    page.getByRole('heading', { name: 'Node.js service (golden path)', exact: true }),
    'the golden-path template card did not appear on /create',
    60_000,
  );
  await page.goto(`${baseUrl}/create/edit`);
}

const EDITOR = 'Get started by choosing one of the options below';

describe('what a developer and a platform admin see', () => {
  it('gives a developer the templates but not the template editor', async () => {
    const page = await signedIn(developerPortal);
    await openTemplateEditor(page, developerPortal.baseUrl);
    // RequirePermission(templateManagementPermission): the "not found" page.
    await expectVisible(
      page.getByText(/dropped the mic|page not found|404/i).first(),
      'the template editor did not answer "not found" for a developer',
      30_000,
    );
    expect(await page.getByText(EDITOR).count()).toBe(0);
    await screenshot(page, 'developer-template-editor.png');
    await page.close();
  });

  it('gives a platform admin the template editor', async () => {
    const page = await signedIn(adminPortal);
    await openTemplateEditor(page, adminPortal.baseUrl);
    await expectVisible(
      page.getByText(EDITOR).first(),
      'the template editor did not open for a platform admin',
      30_000,
    );
    await expectVisible(page.getByText('Load Template Directory').first(), 'no "Load Template Directory"', 10_000);
    await screenshot(page, 'admin-template-editor.png');
    await page.close();
  });
});
