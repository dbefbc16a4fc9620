// console_kafka.mjs: the Topics and Consumer groups pages in Debian's chromium through
// playwright-core and lib.mjs (run by tests/integration/test_0740_console_kafka_browser.py,
// which starts the broker, store and console and fills users_created first).
//
// Steps: log in; see users_created with the right message count; open it and browse a message
// (pretty-printed JSON), then find it by key; produce one from the page; open the sluice-process
// group with its lag; start `sluice process` and watch the lag drop to zero as it catches up.
//
// env: CONSOLE_URL, ADMIN_PASSWORD, TIMEOUT_SCALE, SLUICE_ARTIFACTS (lib.mjs), EXPECT_MESSAGES,
// PROCESS_ARGV (JSON argv of the processor), PROCESS_LOG.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { run, login, shot, step, expect, scale } from './lib.mjs';

const expected = Number(process.env.EXPECT_MESSAGES);

await run('kafka', async (t) => {
  const { page, url } = t;
  let proc = null;
  try {
    step('log in');
    await login(t, 'admin', process.env.ADMIN_PASSWORD);

    step('see users_created with the right message count');
    await page.goto(url + '/#/topics');
    await page.waitForFunction((n) => {
      const c = document.querySelector('tr[data-topic="users_created"] td.messages');
      return c && c.textContent === n;
    }, expected.toLocaleString('en-US'));
    await shot(t, 'topics');

    step('browse a message');
    await page.click('tr[data-topic="users_created"] a');
    await page.waitForSelector('#topic-title');
    const pre = page.locator('.msg pre.msg-value').first();
    await pre.waitFor();
    const text = await pre.textContent();
    const v = JSON.parse(text);
    expect(v.email && v.id, 'a user in ' + text);
    expect(text.includes('\n  "'), 'pretty-printed JSON: ' + text);
    const key = await page.locator('.msg code.msg-key').first().textContent();
    await page.fill('#browse-q', key);
    await page.selectOption('#browse-in', 'key');
    await page.click('#browse-form button[type=submit]');
    await page.waitForFunction((k) => {
      const ms = document.querySelectorAll('.msg code.msg-key');
      return ms.length === 1 && ms[0].textContent === k;
    }, key);
    await shot(t, 'browse');

    step('produce a message');
    await page.fill('#produce-key', 'from-the-page');
    await page.fill('#produce-value', '{"made": "in chromium"}');
    await page.click('#produce-form button[type=submit]');
    await page.waitForFunction(() => /produced to partition \d+ at offset \d+/.test(
      document.querySelector('#produce-result').textContent));

    step('see the group lag');
    await page.goto(url + '/#/groups/sluice-process');
    await page.waitForFunction((n) => {
      const l = document.querySelector('#group-lag');
      return l && l.dataset.lag === String(n);
    }, expected + 1);
    await shot(t, 'lag-before');

    step('watch lag drop to zero as process catches up');
    const argv = JSON.parse(process.env.PROCESS_ARGV);
    const log = fs.openSync(process.env.PROCESS_LOG, 'a');
    proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', log, log] });
    await page.waitForFunction(() => {
      const l = document.querySelector('#group-lag');
      return l && l.dataset.lag === '0';
    }, null, { timeout: 60000 * scale });
    await page.waitForSelector('#members-body td:not(.muted)');
    await shot(t, 'lag-zero');
  } finally {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc.on('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
  }
});
