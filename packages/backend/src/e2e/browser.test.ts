import fs from 'node:fs';
import path from 'node:path';
import yaml from 'yaml';
import type { Browser, Page } from 'playwright-core';
import { REPO_ROOT } from '../__testUtils__/backendProcess';
import { startPortal } from '../__testUtils__/portal';
import {
  expectVisible,
  launchChromium,
  screenshot,
  SCREENSHOT_DIR,
  sidebarLink,
  signInAsGuest,
  sleep,
  step,
  taskSteps,
  waitForTaskSteps,
  waitForText,
} from '../__testUtils__/browser';

// End to end in a real browser (headless Debian chromium through
// playwright-core): the built frontend, served by the real backend, creates
// a service with the golden-path template against the in-process sandbox.
// Needs the frontend built (`yarn workspace app build`, as scripts/test does).

// The whole file stays within this budget: every wait below is clamped to it.
const BUDGET_MS = 5 * 60_000 - 20_000;
const budgetEnd = Date.now() + BUDGET_MS;
const within = (ms: number) =>
  Math.max(1_000, Math.min(ms, budgetEnd - Date.now()));
jest.setTimeout(BUDGET_MS);

const TEMPLATE_TITLE = 'Node.js service (golden path)';
const template = yaml.parse(
  fs.readFileSync(
    path.join(REPO_ROOT, 'templates/nodejs-service/template.yaml'),
    'utf8',
  ),
);
const NAME_PATTERN_ERROR: string =
  template.spec.parameters[0].properties.name.errorMessage.pattern;

type Portal = Awaited<ReturnType<typeof startPortal>>;
let portalStarting: Promise<Portal> | undefined;
let portal: Portal;
let browser: Browser | undefined;
let page: Page;
const screenshots: string[] = [];
const OWN_SCREENSHOTS = [
  'create-form-validation.png',
  'create-task-succeeded.png',
  'create-task.png',
  'entity-page.png',
  'create-duplicate-name.png',
  'sign-in-failed.png',
];
// Unique per run; a lowercase DNS label, as the template requires.
const name = `web-${Date.now().toString(36)}`;
let created = false;

beforeAll(async () => {
  if (!fs.existsSync(path.join(REPO_ROOT, 'packages/app/dist/index.html'))) {
    throw new Error(
      'the frontend is not built: run `yarn workspace app build` first',
    );
  }
  // Screenshots of an earlier run would be mistaken for this run's.
  for (const file of fs.existsSync(SCREENSHOT_DIR)
    ? fs.readdirSync(SCREENSHOT_DIR)
    : []) {
    if (OWN_SCREENSHOTS.some(own => file === own || file === `failed-${own}`)) {
      fs.rmSync(path.join(SCREENSHOT_DIR, file), { force: true });
    }
  }
  step('starting the portal (sandbox + backend)');
  portalStarting = startPortal();
  portal = await portalStarting;
  step(`portal at ${portal.baseUrl}; launching chromium`);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(30_000);
  page.on('pageerror', e => step(`page error: ${e.message.split('\n')[0]}`));
  page.on('console', m => {
    if (m.type() === 'error')
      step(`browser console error: ${m.text().slice(0, 200)}`);
  });
  try {
    await signInAsGuest(page, portal.baseUrl);
  } catch (e) {
    await screenshot(page, 'sign-in-failed.png').then(
      p => screenshots.push(p),
      () => undefined,
    );
    throw e;
  }
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  const started = await portalStarting?.catch(() => undefined);
  await started?.close();
  if (screenshots.length) {
    // eslint-disable-next-line no-console
    console.log(`browser e2e screenshots:\n  ${screenshots.join('\n  ')}`);
  }
}, 60_000);

/** Sidebar "Create", then "Choose" on the golden-path template's card. */
async function openTemplateForm() {
  step('click sidebar "Create"');
  await sidebarLink(page, 'Create').click();
  await page.waitForURL(
    url => /^\/create(\/templates)?\/?$/.test(url.pathname),
    { timeout: within(30_000) },
  );
  const title = page.getByRole('heading', {
    name: TEMPLATE_TITLE,
    exact: true,
  });
  await expectVisible(
    title,
    `no template card titled "${TEMPLATE_TITLE}" on /create`,
    within(60_000),
  );
  // The card: the nearest element around the title that has a Choose button.
  const card = title.locator(
    'xpath=ancestor::*[.//button[normalize-space()="Choose"]][1]',
  );
  step(`click "Choose" on the card "${TEMPLATE_TITLE}"`);
  await card.getByRole('button', { name: 'Choose', exact: true }).click();
  await expectVisible(
    page.getByRole('textbox', { name: 'Service name' }),
    'the template form did not open',
    within(30_000),
  );
}

/** Fills the first page of the form; port and replicas keep their defaults. */
async function fillAboutYourService(serviceName: string) {
  step(`type "${serviceName}" into "Service name"`);
  await page.getByRole('textbox', { name: 'Service name' }).fill(serviceName);
  step('type "team-payments" into the Owner picker and pick it');
  const owner = page.getByRole('textbox', { name: 'Owner' });
  await owner.click();
  await owner.fill('team-payments');
  await page
    .getByRole('option', { name: 'team-payments', exact: true })
    .click({ timeout: within(30_000) });
  step('type a description');
  await page
    .getByRole('textbox', { name: 'Description' })
    .fill('Browser e2e: takes payments & refunds');
}

/** Next (Runtime, defaults kept), Review, Create; returns once on the task page. */
async function reviewAndCreate() {
  step('click "Next"');
  await page.getByRole('button', { name: 'Next', exact: true }).click();
  await expectVisible(
    page.getByRole('spinbutton', { name: 'HTTP port' }),
    'the Runtime page did not open',
    within(15_000),
  );
  step('click "Review"');
  await page.getByRole('button', { name: 'Review', exact: true }).click();
  await expectVisible(
    page.getByRole('cell', { name: 'Service name', exact: true }),
    'the Review page did not open',
    within(15_000),
  );
  step('click "Create"');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.waitForURL(url => /^\/create\/tasks\/[^/]+$/.test(url.pathname), {
    timeout: within(30_000),
  });
  step(`task page ${page.url()}`);
}

/** Runs a test body; when it fails, screenshots the page as `failed-<file>` first. */
function withFailureScreenshot(file: string, body: () => Promise<void>) {
  return async () => {
    try {
      await body();
    } catch (e) {
      if (page) {
        await screenshot(page, `failed-${file}`).then(
          p => screenshots.push(p),
          () => undefined,
        );
      }
      throw e;
    }
  };
}

const OUTPUT_LINKS = [
  'Repository',
  'Pipelines',
  'ArgoCD application',
  'Live service',
  'Open in catalog',
];

describe('golden path in a real browser', () => {
  it(
    'shows the name rule inline and stays on the page for an invalid name',
    withFailureScreenshot('create-form-validation.png', async () => {
      await openTemplateForm();
      await fillAboutYourService('Bad_Name');
      step('click "Next" with the invalid name');
      await page.getByRole('button', { name: 'Next', exact: true }).click();

      const nameField = page.getByRole('textbox', { name: 'Service name' });
      // rjsf renders a field's errors in `<field id>__error`, under the field.
      const fieldId = await nameField.getAttribute('id');
      const inlineError = page.locator(`[id="${fieldId}__error"]`);
      await expectVisible(
        inlineError,
        'no inline error under "Service name"',
        within(15_000),
      );
      expect((await inlineError.innerText()).trim()).toBe(NAME_PATTERN_ERROR);
      expect(await nameField.getAttribute('aria-invalid')).toBe('true');
      // Still on the first page: the Runtime fields are not shown.
      expect(
        await page.getByRole('spinbutton', { name: 'HTTP port' }).count(),
      ).toBe(0);
      screenshots.push(await screenshot(page, 'create-form-validation.png'));
    }),
  );

  it(
    'creates the service and shows every step completed and the output links',
    withFailureScreenshot('create-task.png', async () => {
      await openTemplateForm();
      await fillAboutYourService(name);
      await reviewAndCreate();

      const steps = await waitForTaskSteps(page, within(150_000));
      const failed = steps.filter(s => s.state === 'failed').map(s => s.name);
      const error = await page.getByRole('alert').allInnerTexts();
      if (failed.length) {
        throw new Error(
          `steps failed: ${failed.join(', ')}\n${error.join('\n')}`,
        );
      }
      expect(steps.map(s => s.state)).toEqual(steps.map(() => 'completed'));
      expect(steps.length).toBe(template.spec.steps.length);
      expect(error).toEqual([]);

      const hrefs: Record<string, string | null> = {};
      for (const title of OUTPUT_LINKS) {
        const button = page.getByRole('button', { name: title, exact: true });
        await expectVisible(
          button,
          `no output link "${title}" on the task page`,
          within(30_000),
        );
        hrefs[title] = await page
          .getByRole('link')
          .filter({ has: button })
          .getAttribute('href');
      }
      step(
        `output links: ${OUTPUT_LINKS.map(t => `${t} -> ${hrefs[t]}`).join(
          ', ',
        )}`,
      );
      expect(hrefs).toEqual({
        Repository: `${portal.sandbox.urls.gitlab}/apps/${name}`,
        Pipelines: `${portal.sandbox.urls.gitlab}/apps/${name}/-/pipelines`,
        'ArgoCD application': expect.stringContaining(
          `/applications/argocd/${name}`,
        ),
        'Live service': `https://${name}.apps.localhost`,
        'Open in catalog': `/catalog/default/component/${name}`,
      });
      created = true;
      screenshots.push(await screenshot(page, 'create-task-succeeded.png'));
    }),
  );

  it(
    'opens the new entity page with ArgoCD Synced/Healthy and the pipeline status',
    withFailureScreenshot('entity-page.png', async () => {
      if (!created)
        throw new Error('the service was not created (see the previous test)');
      step('click "Open in catalog"');
      await page
        .getByRole('button', { name: 'Open in catalog', exact: true })
        .click();
      await page.waitForURL(
        url => url.pathname === `/catalog/default/component/${name}`,
        { timeout: within(30_000) },
      );

      // The catalog processes the new entity asynchronously: until it is
      // there the page shows "Entity not found" (under the same title), so
      // reload until the entity's own About card is shown.
      const about = page.getByRole('heading', { name: 'About', exact: true });
      const notFound = page.getByText('Entity not found', { exact: true });
      const end = Date.now() + within(60_000);
      for (;;) {
        await about
          .or(notFound)
          .first()
          .waitFor({ state: 'visible', timeout: within(15_000) })
          .catch(() => undefined);
        if (await about.isVisible()) break;
        if (Date.now() > end) {
          throw new Error(`the entity page of ${name} never showed the entity`);
        }
        step(
          'entity page says "Entity not found" (catalog still processing): reload in 2 s',
        );
        await sleep(2_000);
        await page.reload();
      }
      await expectVisible(
        page.getByRole('heading', { name, exact: true }),
        `the entity page does not show the title ${name}`,
        within(10_000),
      );
      step(`entity page of ${name} is open`);

      // The golden-path cards load their data after the page; collect what
      // they show (bounded), screenshot, then assert.
      const argoCard = page.getByTestId('argocd-card');
      const pipelineCard = page.getByTestId('pipeline-card');
      const [argo, pipeline] = await Promise.all([
        waitForText(
          argoCard,
          [/\bSynced\b/, /\bHealthy\b/],
          `the ArgoCD card (data-testid="argocd-card") on the entity page of ${name} does not show Synced and Healthy`,
          within(30_000),
        ).then(
          text => text,
          (e: Error) => e,
        ),
        waitForText(
          pipelineCard,
          [/\bsuccess\b/],
          `the pipeline card (data-testid="pipeline-card") on the entity page of ${name} does not show the pipeline status success`,
          within(30_000),
        ).then(
          text => text,
          (e: Error) => e,
        ),
      ]);
      screenshots.push(await screenshot(page, 'entity-page.png'));
      const problems = [argo, pipeline].filter(
        (r): r is Error => r instanceof Error,
      );
      if (problems.length)
        throw new Error(problems.map(p => p.message).join('\n\n'));
      expect(argo).toMatch(/\bSynced\b/);
      expect(argo).toMatch(/\bHealthy\b/);
      expect(pipeline).toMatch(/\bsuccess\b/);
      step('ArgoCD card shows Synced and Healthy; pipeline card shows success');
    }),
  );

  it(
    'fails a second Create with the same name and shows why',
    withFailureScreenshot('create-duplicate-name.png', async () => {
      if (!created)
        throw new Error('the service was not created (see the earlier test)');
      await openTemplateForm();
      await fillAboutYourService(name);
      await reviewAndCreate();

      const steps = await waitForTaskSteps(page, within(90_000));
      const message = `Service name "${name}" is already taken`;
      const alert = page.getByRole('alert').filter({ hasText: message });
      await expectVisible(
        alert,
        `the task page does not show "${message}"`,
        within(30_000),
      );
      step(
        `task failed at "${
          steps.find(s => s.state === 'failed')?.name
        }" with: ${(await alert.innerText()).split('\n')[0].slice(0, 160)}…`,
      );
      // It fails where the template checks the name everywhere; nothing after that ran.
      const nameCheck = template.spec.steps.findIndex(
        (s: { id: string }) => s.id === 'name-free',
      );
      expect(steps.filter(s => s.state === 'failed').map(s => s.name)).toEqual([
        template.spec.steps[nameCheck].name,
      ]);
      expect(steps.slice(nameCheck + 1).map(s => s.state)).not.toContain(
        'completed',
      );
      await sleep(500); // let the log panel settle for the screenshot
      expect(await taskSteps(page)).toEqual(steps);
      screenshots.push(await screenshot(page, 'create-duplicate-name.png'));
    }),
  );
});
