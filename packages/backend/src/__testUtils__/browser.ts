import fs from 'node:fs';
import path from 'node:path';
import { Browser, chromium, Locator, Page } from 'playwright-core';
import { REPO_ROOT } from './backendProcess';

/**
 * Real-browser helpers for the e2e tests: Debian's chromium driven by
 * playwright-core (no browser download; `.ci/run` installs chromium).
 * Everything here is asynchronous: the sandbox the browser talks to runs in
 * the jest process, so nothing may block the event loop.
 */

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.join(
  REPO_ROOT,
  'test-artifacts',
  'screenshots',
);

const started = Date.now();

/** One line of the step log, so the CI log shows what the browser did. */
export function step(message: string) {
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  // eslint-disable-next-line no-console
  console.log(`[browser +${seconds}s] ${message}`);
}

/** Headless chromium with a fresh, empty profile (playwright's temporary user-data-dir). */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `no chromium at ${CHROMIUM}: install it (apt-get install -y chromium, as .ci/run does) or set CHROMIUM_PATH`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Saves a full-page screenshot under test-artifacts/screenshots and returns its path. */
export async function screenshot(page: Page, file: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const target = path.join(SCREENSHOT_DIR, file);
  await page.screenshot({ path: target, fullPage: true, timeout: 30_000 });
  step(`screenshot ${target}`);
  return target;
}

export const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** Waits for `locator` to be visible; on timeout throws `message` (not playwright's generic one). */
export async function expectVisible(
  locator: Locator,
  message: string,
  timeout: number,
) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout });
  } catch (e) {
    throw new Error(
      `${message} (waited ${Math.round(timeout / 1000)} s)\n${
        (e as Error).message.split('\n')[0]
      }`,
    );
  }
}

/**
 * Polls the visible text of `locator` until every pattern matches; returns
 * the text. On timeout throws `message` with the text that was there.
 */
export async function waitForText(
  locator: Locator,
  patterns: RegExp[],
  message: string,
  timeout: number,
): Promise<string> {
  const end = Date.now() + timeout;
  for (;;) {
    const text = (
      await locator
        .first()
        .innerText({ timeout: 1_000 })
        .catch(() => '')
    ).trim();
    if (text && patterns.every(p => p.test(text))) return text;
    if (Date.now() > end) {
      const shown = text ? `it shows:\n${text}` : 'it is not on the page';
      throw new Error(
        `${message} (waited ${Math.round(timeout / 1000)} s for ${patterns.join(
          ', ',
        )}); ${shown}`,
      );
    }
    await sleep(500);
  }
}

/** A link in the portal's sidebar. */
export function sidebarLink(page: Page, name: string) {
  return page
    .getByRole('navigation', { name: 'sidebar nav' })
    .getByRole('link', { name, exact: true });
}

/**
 * Opens the portal and signs in as guest: the sign-in page either signs in
 * by itself or shows the guest provider's "Enter" button.
 */
export async function signInAsGuest(page: Page, baseUrl: string) {
  step(`open ${baseUrl}`);
  await page.goto(baseUrl, { timeout: 60_000 });
  const enter = page.getByRole('button', { name: 'Enter', exact: true });
  // The sidebar's "Create" link (the <nav> itself has no box of its own).
  const nav = sidebarLink(page, 'Create');
  await expectVisible(
    enter.or(nav),
    'neither the sign-in page nor the portal appeared',
    60_000,
  );
  if (await enter.isVisible()) {
    step('click "Enter" (guest sign-in)');
    await enter.click();
  } else {
    step('signed in automatically');
  }
  await expectVisible(
    nav,
    'the portal did not open after guest sign-in',
    30_000,
  );
}

export type StepState = 'completed' | 'failed' | 'running' | 'skipped' | 'open';

// The scaffolder's task page (plugin-scaffolder-react TaskSteps/StepIcon)
// marks a step's state only by its icon: CheckCircleOutline (completed),
// ErrorOutline (failed), RemoveCircleOutline (skipped), a spinner (running),
// PanoramaFishEye (open). These are those @material-ui/icons paths' starts.
const STEP_ICONS: Array<[string, StepState]> = [
  ['M16.59 7.58L10 14.17', 'completed'],
  ['M11 15h2v2h-2zm0-8h2v6h-2z', 'failed'],
  ['M7 11v2h10v-2H7z', 'skipped'],
];

/** The task page's steps, in order, with the state each one shows. */
export async function taskSteps(
  page: Page,
): Promise<Array<{ name: string; state: StepState }>> {
  const raw = await page.getByTestId('step-label').evaluateAll(labels =>
    labels.map(label => ({
      text: (label as HTMLElement).innerText,
      spinner: Boolean(label.querySelector('[role="progressbar"]')),
      icon: label.querySelector('svg path')?.getAttribute('d') ?? '',
    })),
  );
  return raw.map(({ text, spinner, icon }) => ({
    // The label is the step name, then its duration on a line of its own.
    name: text.split('\n')[0].trim(),
    state: spinner
      ? 'running'
      : STEP_ICONS.find(([prefix]) => icon.startsWith(prefix))?.[1] ?? 'open',
  }));
}

/**
 * Waits until the task page shows the task finished: every step completed,
 * or some step failed (then the rest show skipped or open).
 */
export async function waitForTaskSteps(page: Page, timeout: number) {
  const end = Date.now() + timeout;
  let steps: Awaited<ReturnType<typeof taskSteps>> = [];
  let last = '';
  for (;;) {
    steps = await taskSteps(page);
    const summary = steps.map(s => `${s.name}: ${s.state}`).join('; ');
    if (summary !== last) {
      step(`task steps: ${summary || '(none yet)'}`);
      last = summary;
    }
    const failed = steps.some(s => s.state === 'failed');
    const done = steps.length > 0 && steps.every(s => s.state === 'completed');
    if (failed || done) return steps;
    if (Date.now() > end) {
      throw new Error(
        `the task page did not finish within ${Math.round(
          timeout / 1000,
        )} s: ${summary}`,
      );
    }
    await sleep(500);
  }
}
