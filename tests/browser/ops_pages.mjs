// ops_pages.mjs: the browser steps of the DAGs, Tables and Schemas pages (issue 8), in Debian's
// chromium driven by playwright-core: log in; trigger user_automation and watch its run turn
// green in the grid, then read its try's log; run a CQL query and page through it; see a schema
// and the diff between two versions. Run by tests/integration/test_0764_console_ops_browser.py,
// which starts the servers and passes CONSOLE_URL, ADMIN_PASSWORD, CQL_TABLE, SUBJECT and
// TIMEOUT_SCALE. Screenshots go to $SLUICE_ARTIFACTS (default build/test-artifacts/).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const url = process.env.CONSOLE_URL;
const scale = Number(process.env.TIMEOUT_SCALE || '1');
const artifacts = process.env.SLUICE_ARTIFACTS || 'build/test-artifacts';
fs.mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
const shot = (name) => page.screenshot({ path: path.join(artifacts, `ops-${name}.png`), fullPage: true });
const step = (s) => console.log('step: ' + s);
try {
  step('log in');
  await page.goto(url + '/');
  await page.fill('#login-user', 'admin');
  await page.fill('#login-password', process.env.ADMIN_PASSWORD);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#whoami', { timeout: 10000 * scale });

  step('DAG list');
  await page.goto(url + '/#/dags');
  await page.waitForSelector('tr[data-dag="user_automation"]', { timeout: 10000 * scale });
  await shot('dag-list');

  step('trigger user_automation and watch it turn green');
  await page.goto(url + '/#/dags/user_automation');
  await page.waitForSelector('#trigger:not([disabled])');
  await page.fill('#conf', '{"note": "from the browser"}');
  await page.click('#trigger');
  await page.waitForFunction(() => /Triggered /.test(document.querySelector('#trigger-result').textContent),
    null, { timeout: 10000 * scale });
  const runId = (await page.textContent('#trigger-result')).replace('Triggered ', '').trim();
  const bar = `.runbar[data-run="${runId}"]`;
  await page.waitForSelector(bar, { timeout: 10000 * scale });
  await shot('dag-running');
  await page.waitForSelector(`${bar}[data-state="success"]`, { timeout: 60000 * scale });
  await page.click(`.cell[data-run="${runId}"][data-task="stream_data_from_api"]`);
  await page.waitForFunction(() => /ingest/.test(document.querySelector('#log').textContent),
    null, { timeout: 10000 * scale });
  await shot('dag-green');

  step('run a CQL query and page through it');
  const table = process.env.CQL_TABLE;
  await page.goto(url + '/#/tables');
  await page.waitForSelector(`[data-table="${table}"]`, { timeout: 10000 * scale });
  await page.fill('#cql', `SELECT * FROM ${table};`);
  await page.selectOption('#cql-page-size', '20');
  await page.click('#cql-run');
  await page.waitForFunction(() => /page 1: 20 rows/.test(document.querySelector('#cql-status').textContent),
    null, { timeout: 10000 * scale });
  if ((await page.$$('#cql-result tbody tr')).length !== 20) throw new Error('page 1 is not 20 rows');
  await page.click('#cql-next');
  await page.waitForFunction(() => /page 2:/.test(document.querySelector('#cql-status').textContent),
    null, { timeout: 10000 * scale });
  await shot('tables');

  step('see a schema and a diff');
  const subject = process.env.SUBJECT;
  await page.goto(url + '/#/schemas');
  await page.waitForSelector(`tr[data-subject="${subject}"] a`, { timeout: 10000 * scale });
  await page.click(`tr[data-subject="${subject}"] a`);
  await page.waitForFunction(() => /"email"/.test(document.querySelector('#schema-text')?.textContent || ''),
    null, { timeout: 10000 * scale });
  await page.waitForSelector('#schema-diff .add', { timeout: 10000 * scale });
  await page.click('#check');
  await page.waitForSelector('#check-verdict', { timeout: 10000 * scale });
  const verdict = await page.textContent('#check-verdict');
  if (!/^Compatible/.test(verdict)) throw new Error('the latest schema checked as: ' + verdict);
  if (/null/.test(await page.textContent('#register-result'))) throw new Error('"null" shown');
  await shot('schemas');
  if (errors.length) throw new Error('page errors: ' + errors.join('; '));
  console.log('ok');
} catch (e) {
  await shot('failure').catch(() => {});
  console.error(e.stack || String(e));
  process.exitCode = 1;
} finally {
  await browser.close();
}
