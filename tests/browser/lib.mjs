// lib.mjs: what every console browser test shares. Launches Debian's /usr/bin/chromium headless
// through playwright-core, logs in through the login form, and writes screenshots to
// $SLUICE_ARTIFACTS (default build/test-artifacts/) where CI keeps them.
//
//   import { open, login, shot, step, done } from './lib.mjs';
//   const t = await open('core');          // env CONSOLE_URL, TIMEOUT_SCALE
//   await login(t, 'admin', process.env.ADMIN_PASSWORD);
//   await shot(t, 'overview');             // build/test-artifacts/core-overview.png
//   await done(t);                          // closes; fails on uncaught page errors
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

export const scale = Number(process.env.TIMEOUT_SCALE || '1');
export const artifacts = process.env.SLUICE_ARTIFACTS || 'build/test-artifacts';

/* Prints a step name, so a failing test's output says how far it got. */
export function step(name) {
  console.log('step: ' + name);
}

/* A browser and a page on CONSOLE_URL; prefix names this test's screenshots. */
export async function open(prefix, url = process.env.CONSOLE_URL) {
  if (!url) throw new Error('CONSOLE_URL is not set');
  fs.mkdirSync(artifacts, { recursive: true });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10000 * scale);
  const t = { browser, context, page, url, prefix, errors: [], requests: [] };
  page.on('pageerror', (e) => t.errors.push(e.message));
  page.on('request', (r) => t.requests.push(r.url()));
  return t;
}

/* Logs in through the form and waits for the signed-in header. */
export async function login(t, user, password) {
  await t.page.goto(t.url + '/');
  await t.page.waitForSelector('#login');
  await t.page.fill('#login-user', user);
  await t.page.fill('#login-password', password);
  await t.page.click('#login button[type=submit]');
  await t.page.waitForSelector('#whoami');
}

export async function logout(t) {
  await t.page.click('#logout');
  await t.page.waitForSelector('#login');
}

/* A full-page screenshot: ARTIFACTS/<prefix>-<name>.png. */
export async function shot(t, name) {
  const file = path.join(artifacts, `${t.prefix}-${name}.png`);
  await t.page.screenshot({ path: file, fullPage: true });
  return file;
}

/* Fails unless cond is true, with a message. */
export function expect(cond, msg) {
  if (!cond) throw new Error('expected: ' + msg);
}

/* Closes the browser; throws if the page raised uncaught errors or asked for anything that is
 * not the console (the console works offline: every asset is embedded). */
export async function done(t) {
  await t.browser.close();
  const foreign = t.requests.filter((u) => !u.startsWith(t.url) && !u.startsWith('data:'));
  if (t.errors.length) throw new Error('page errors: ' + t.errors.join('; '));
  if (foreign.length) throw new Error('requests outside the console: ' + foreign.join(', '));
}

/* Runs body(t) and exits 0 with "ok", or 1 with the error and a last screenshot. */
export async function run(prefix, body) {
  const t = await open(prefix);
  try {
    await body(t);
    await done(t);
    console.log('ok');
  } catch (e) {
    try { await shot(t, 'failure'); } catch (e2) { /* the page may be gone */ }
    try { await t.browser.close(); } catch (e2) { /* already closed */ }
    console.error(e.stack || String(e));
    process.exit(1);
  }
}
