// ops_pages.mjs: the browser steps of the DAGs, Tables and Schemas pages (issue 8), in Debian's
// chromium driven by playwright-core through lib.mjs: log in; trigger user_automation and watch
// its run turn green in the grid, then read its try's log; run a CQL query and page through
// it; see a schema, the diff between two versions and a compatibility check. Run by
// tests/integration/test_0764_console_ops_browser.py, which starts the servers and passes
// CONSOLE_URL, ADMIN_PASSWORD, CQL_TABLE, SUBJECT and TIMEOUT_SCALE. Screenshots: ops-*.png.
import { run, login, shot, step, expect, scale } from './lib.mjs';

const text = (page, sel) => page.textContent(sel);
const until = (page, fn, arg, ms = 10000) => page.waitForFunction(fn, arg, { timeout: ms * scale });

await run('ops', async (t) => {
  const { page, url } = t;
  step('log in');
  await login(t, 'admin', process.env.ADMIN_PASSWORD);

  step('DAG list');
  await page.goto(url + '/#/dags');
  await page.waitForSelector('tr[data-dag="user_automation"]');
  await shot(t, 'dag-list');

  step('trigger user_automation and watch it turn green');
  await page.goto(url + '/#/dags/user_automation');
  await page.waitForSelector('#trigger:not([disabled])');
  await page.fill('#conf', '{"note": "from the browser"}');
  await page.click('#trigger');
  await until(page, () => /Triggered /.test(document.querySelector('#trigger-result').textContent));
  const runId = (await text(page, '#trigger-result')).replace('Triggered ', '').trim();
  const bar = `.runbar[data-run="${runId}"]`;
  await page.waitForSelector(bar);
  await shot(t, 'dag-running');
  await page.waitForSelector(`${bar}[data-state="success"]`, { timeout: 60000 * scale });
  await page.click(`.cell[data-run="${runId}"][data-task="stream_data_from_api"]`);
  await until(page, () => /ingest: done/.test(document.querySelector('#log').textContent));
  await shot(t, 'dag-green');

  step('run a CQL query and page through it');
  const table = process.env.CQL_TABLE;
  await page.goto(url + '/#/tables');
  await page.waitForSelector(`[data-table="${table}"]`);
  await page.fill('#cql', `SELECT * FROM ${table};`);
  await page.selectOption('#cql-page-size', '20');
  await page.click('#cql-run');
  await until(page, () => /page 1: 20 rows/.test(document.querySelector('#cql-status').textContent));
  expect((await page.$$('#cql-result tbody tr')).length === 20, 'page 1 has 20 rows');
  await page.click('#cql-next');
  await until(page, () => /page 2:/.test(document.querySelector('#cql-status').textContent));
  await shot(t, 'tables');

  step('see a schema and a diff');
  const subject = process.env.SUBJECT;
  await page.goto(url + '/#/schemas');
  await page.waitForSelector(`tr[data-subject="${subject}"] a`);
  await page.click(`tr[data-subject="${subject}"] a`);
  await until(page, () => /"email"/.test(document.querySelector('#schema-text')?.textContent || ''));
  await page.waitForSelector('#schema-diff .add');
  await page.click('#check');
  await page.waitForSelector('#check-verdict');
  const verdict = await text(page, '#check-verdict');
  expect(/^Compatible/.test(verdict), 'the latest schema checks compatible, got: ' + verdict);
  expect(!/null/.test(await text(page, '#register-result')), 'no "null" in the verdict');
  await shot(t, 'schemas');
});
