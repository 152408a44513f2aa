import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { REPO_ROOT } from '../__testUtils__/backendProcess';
import {
  expectVisible,
  launchChromium,
  screenshot,
  SCREENSHOT_DIR,
  signInAsGuest,
  sleep,
  step,
  waitForTaskSteps,
  waitForText,
} from '../__testUtils__/browser';
import {
  Portal,
  sandboxResourcesFor,
  startPortal,
} from '../__testUtils__/portal';

// In a real browser (headless chromium through playwright-core): the entity
// page of a golden-path service leads with its status and a Lifecycle card,
// hides the empty relation cards, and its Decommission button runs the
// "Decommission a service" template with the name filled in. The service is
// created through the API (browser.test.ts covers the Create form). Needs
// the frontend built (`yarn workspace app build`, as scripts/test does).

const BUDGET_MS = 5 * 60_000 - 20_000;
const budgetEnd = Date.now() + BUDGET_MS;
const within = (ms: number) =>
  Math.max(1_000, Math.min(ms, budgetEnd - Date.now()));
jest.setTimeout(BUDGET_MS);

const SHOTS = [
  'entity-page-lifecycle.png',
  'decommission-form.png',
  'decommission-task.png',
];
const RELATION_CARDS = [
  'Provided APIs',
  'Consumed APIs',
  'Depends on components',
  'Depends on resources',
  'Has subcomponents',
];

let portal: Portal;
let portalStarting: Promise<Portal> | undefined;
let browser: Browser | undefined;
let page: Page;
const screenshots: string[] = [];
const name = `bye-${Date.now().toString(36)}`;

beforeAll(async () => {
  if (!fs.existsSync(path.join(REPO_ROOT, 'packages/app/dist/index.html'))) {
    throw new Error(
      'the frontend is not built: run `yarn workspace app build` first',
    );
  }
  // Screenshots of an earlier run would be mistaken for this run's.
  for (const file of SHOTS.flatMap(f => [f, `failed-${f}`])) {
    fs.rmSync(path.join(SCREENSHOT_DIR, file), { force: true });
  }
  step('starting the portal (sandbox + backend)');
  portalStarting = startPortal();
  portal = await portalStarting;
  step(`creating ${name} through the API`);
  const task = await portal.waitForTask(
    await portal.createService({
      name,
      owner: 'group:default/team-payments',
      description: 'Browser e2e: lives briefly',
      port: 3000,
      replicas: 2,
    }),
    within(150_000),
  );
  if (task.status !== 'completed')
    throw new Error(`create ${task.status}: ${task.message}`);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(30_000);
  page.on('pageerror', e => step(`page error: ${e.message.split('\n')[0]}`));
  await signInAsGuest(page, portal.baseUrl);
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  const started = await portalStarting?.catch(() => undefined);
  await started?.close();
  if (screenshots.length) {
    // eslint-disable-next-line no-console
    console.log(
      `decommission browser screenshots:\n  ${screenshots.join('\n  ')}`,
    );
  }
}, 60_000);

async function shot(file: string) {
  screenshots.push(await screenshot(page, file));
}

/** Opens the entity page, reloading while the catalog has not processed the entity yet. */
async function openEntityPage() {
  step(`open the entity page of ${name}`);
  await page.goto(`${portal.baseUrl}/catalog/default/component/${name}`);
  const about = page.getByRole('heading', { name: 'About', exact: true });
  const end = Date.now() + within(60_000);
  for (;;) {
    await about
      .waitFor({ state: 'visible', timeout: within(10_000) })
      .catch(() => undefined);
    if (await about.isVisible()) return about;
    if (Date.now() > end)
      throw new Error(`the entity page of ${name} never showed the entity`);
    await sleep(2_000);
    await page.reload();
  }
}

describe('Decommission from the entity page, in a real browser', () => {
  it('shows the status and Lifecycle cards at the top beside About, without empty relation cards, and decommissions the service', async () => {
    try {
      const about = await openEntityPage();
      const lifecycle = page.getByTestId('lifecycle-card');
      const argo = page.getByTestId('argocd-card');
      await expectVisible(
        lifecycle,
        'no Lifecycle card on the entity page',
        within(30_000),
      );
      await waitForText(
        argo,
        [/\bSynced\b/],
        'the ArgoCD card shows no sync status',
        within(30_000),
      );
      const decommissionButton = lifecycle.getByRole('button', {
        name: 'Decommission',
        exact: true,
      });
      await expectVisible(
        decommissionButton,
        'no Decommission button for the owner',
        within(30_000),
      );

      // Layout: the status cards lead the main column, beside About; the
      // Lifecycle card sits in About's column, under it.
      const aboutBox = (await about.boundingBox())!;
      const argoBox = (await argo.boundingBox())!;
      const lifecycleBox = (await lifecycle.boundingBox())!;
      step(
        `About heading at ${JSON.stringify(
          aboutBox,
        )}, ArgoCD card at ${JSON.stringify(
          argoBox,
        )}, Lifecycle card at ${JSON.stringify(lifecycleBox)}`,
      );
      expect(argoBox.x + argoBox.width).toBeLessThanOrEqual(aboutBox.x);
      expect(Math.abs(argoBox.y - aboutBox.y)).toBeLessThan(80);
      expect(lifecycleBox.x).toBeGreaterThan(argoBox.x + argoBox.width);
      expect(lifecycleBox.y).toBeGreaterThan(aboutBox.y);
      expect(lifecycleBox.y).toBeLessThan(1000);
      for (const title of RELATION_CARDS) {
        expect({
          title,
          shown: await page.getByText(title, { exact: true }).count(),
        }).toEqual({ title, shown: 0 });
      }
      await shot('entity-page-lifecycle.png');

      step('click "Decommission"');
      await decommissionButton.click();
      await page.waitForURL(
        url =>
          url.pathname === '/create/templates/default/decommission-service',
        {
          timeout: within(30_000),
        },
      );
      const nameField = page.getByRole('textbox', { name: 'Service name', exact: true });
      await expectVisible(
        nameField,
        'the decommission form did not open',
        within(30_000),
      );
      expect(await nameField.inputValue()).toBe(name);
      step('type the name again to confirm');
      await page
        .getByRole('textbox', {
          name: 'Type the service name again to confirm',
        })
        .fill(name);
      await shot('decommission-form.png');
      step('click "Review", then "Create"');
      await page.getByRole('button', { name: 'Review', exact: true }).click();
      await page.getByRole('button', { name: 'Create', exact: true }).click();
      await page.waitForURL(
        url => /^\/create\/tasks\/[^/]+$/.test(url.pathname),
        { timeout: within(30_000) },
      );

      const steps = await waitForTaskSteps(page, within(120_000));
      expect(steps.map(s => s.state)).toEqual(steps.map(() => 'completed'));
      await waitForText(
        page.locator('body'),
        [
          new RegExp(`${name} is decommissioned`),
          /Removed/,
          /Kept \(archived repositories\)/,
        ],
        'the task page does not show the decommission report',
        within(30_000),
      );
      await shot('decommission-task.png');

      // What the browser did, as the systems see it.
      expect((await sandboxResourcesFor(portal.sandbox, name)).sort()).toEqual([
        `gitlab project apps/${name}`,
        `gitlab project platform/gitops/${name}-gitops`,
      ]);
      expect(
        (
          await portal.api(
            `/api/catalog/entities/by-name/component/default/${name}`,
          )
        ).status,
      ).toBe(404);
    } catch (e) {
      if (page) await shot(`failed-${SHOTS[0]}`).catch(() => undefined);
      throw e;
    }
  });

  it('still shows a relation card where there is a relation (example-website provides an API)', async () => {
    await page.goto(
      `${portal.baseUrl}/catalog/default/component/example-website`,
    );
    await expectVisible(
      page.getByText('Provided APIs', { exact: true }),
      'no Provided APIs card on example-website',
      within(30_000),
    );
    expect(await page.getByTestId('lifecycle-card').count()).toBe(0);
  });
});
