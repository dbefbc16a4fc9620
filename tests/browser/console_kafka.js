'use strict';
/* console_kafka.js: the Topics and Consumer groups pages in Debian's Chromium, driven by
 * playwright-core (run by tests/integration/test_0740_console_kafka_browser.py, which starts the
 * broker, store and console and fills users_created first).
 *
 * Steps: log in; see users_created with the right message count; open it and browse a message
 * (pretty-printed JSON); produce one from the page; open the sluice-process group with its lag;
 * start `sluice process` and watch the lag drop to zero as it catches up.
 *
 * env: CONSOLE_URL, ADMIN_PASSWORD, EXPECT_MESSAGES, PROCESS_ARGV (JSON argv of the processor),
 * PROCESS_LOG, ARTIFACTS (screenshots), SLUICE_TIMEOUT_SCALE. Prints "ok" when every step
 * passed; exits non-zero with the failing step otherwise. */
const { chromium } = require('playwright-core');
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const base = process.env.CONSOLE_URL;
const expect = Number(process.env.EXPECT_MESSAGES);
const scale = Number(process.env.SLUICE_TIMEOUT_SCALE || '1') || 1;
const artifacts = process.env.ARTIFACTS;
const T = (ms) => ms * scale;

async function shot(page, name) {
  fs.mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, `console_kafka_${name}.png`), fullPage: true });
}

async function step(name, fn) {
  try {
    await fn();
    console.log('step ok: ' + name);
  } catch (e) {
    e.message = `step "${name}": ${e.message}`;
    throw e;
  }
}

async function main() {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(T(15000));
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  let proc = null;
  try {
    await step('log in', async () => {
      await page.goto(base + '/');
      await page.fill('#login-user', 'admin');
      await page.fill('#login-password', process.env.ADMIN_PASSWORD);
      await page.click('#login button[type=submit]');
      await page.waitForSelector('#whoami');
    });

    await step('see users_created with the right message count', async () => {
      await page.goto(base + '/#/topics');
      const cell = page.locator('tr[data-topic="users_created"] td.messages');
      await cell.waitFor();
      await page.waitForFunction((n) => {
        const c = document.querySelector('tr[data-topic="users_created"] td.messages');
        return c && c.textContent === n;
      }, expect.toLocaleString('en-US'));
      await shot(page, 'topics');
    });

    await step('browse a message', async () => {
      await page.click('tr[data-topic="users_created"] a');
      await page.waitForSelector('#topic-title');
      const pre = page.locator('.msg pre.msg-value').first();
      await pre.waitFor();
      const text = await pre.textContent();
      const v = JSON.parse(text);
      if (!v.email || !v.id) throw new Error('no user in ' + text);
      if (!text.includes('\n  "')) throw new Error('not pretty-printed: ' + text);
      /* A key search narrows the list to that one user. */
      const key = await page.locator('.msg code.msg-key').first().textContent();
      await page.fill('#browse-q', key);
      await page.selectOption('#browse-in', 'key');
      await page.click('#browse-form button[type=submit]');
      await page.waitForFunction((k) => {
        const ms = document.querySelectorAll('.msg code.msg-key');
        return ms.length === 1 && ms[0].textContent === k;
      }, key);
      await shot(page, 'browse');
    });

    await step('produce a message', async () => {
      await page.fill('#produce-key', 'from-the-page');
      await page.fill('#produce-value', '{"made": "in chromium"}');
      await page.click('#produce-form button[type=submit]');
      await page.waitForFunction(() =>
        /produced to partition \d+ at offset \d+/.test(
          document.querySelector('#produce-result').textContent));
    });

    await step('see the group lag', async () => {
      await page.goto(base + '/#/groups/sluice-process');
      await page.waitForFunction((n) => {
        const l = document.querySelector('#group-lag');
        return l && l.dataset.lag === String(n);
      }, expect + 1);
      await shot(page, 'lag_before');
    });

    await step('watch lag drop to zero as process catches up', async () => {
      const argv = JSON.parse(process.env.PROCESS_ARGV);
      const log = fs.openSync(process.env.PROCESS_LOG, 'a');
      proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', log, log] });
      await page.waitForFunction(() => {
        const l = document.querySelector('#group-lag');
        return l && l.dataset.lag === '0';
      }, null, { timeout: T(60000) });
      await page.waitForSelector('#members-body td:not(.muted)');
      await shot(page, 'lag_zero');
    });
    if (errors.length) throw new Error('page errors: ' + errors.join('; '));
    console.log('ok');
  } finally {
    if (proc && proc.exitCode === null) {
      const done = new Promise((r) => proc.on('exit', r));
      proc.kill('SIGTERM');
      await done;
    }
    await browser.close();
  }
}

main().catch((e) => {
  console.error(e.stack || e.message);
  process.exit(1);
});
