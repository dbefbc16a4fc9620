// window_table.mjs: the Tables page shows the default window table updating under `sluice up`
// (issue 10): log in, open the Tables page, click spark_streams.users_per_nat_minute in the
// tree (which runs SELECT * on it), turn on "refresh every 2 s" and see the users column's sum
// grow, without touching the page again, while up's ingest runs. Run by
// tests/integration/test_0612_up_window_console.py with CONSOLE_URL, ADMIN_PASSWORD, TABLE and
// TIMEOUT_SCALE. Screenshots: window-*.png.
import { run, login, shot, step, expect, scale } from './lib.mjs';

const table = process.env.TABLE;

/* In the page: the sum of the result's "users" column (0 while it has none) if it is above
 * floor, else 0; so it serves both to wait for rows and to wait for growth. */
const usersAbove = (floor) => {
  const heads = [...document.querySelectorAll('#cql-result thead th')].map((th) => th.textContent);
  const col = heads.findIndex((h) => /^users \(/.test(h));
  if (col < 0) return 0;
  const sum = [...document.querySelectorAll('#cql-result tbody tr')]
    .reduce((n, tr) => n + Number(tr.children[col].textContent), 0);
  return sum > floor ? sum : 0;
};

await run('window', async (t) => {
  const { page, url } = t;
  step('log in');
  await login(t, 'admin', process.env.ADMIN_PASSWORD);

  step('open the window table from the Tables page');
  await page.goto(url + '/#/tables');
  const link = `[data-table="${table}"] a`;
  await page.waitForSelector(link, { timeout: 30000 * scale });
  await page.check('#cql-live');
  await page.click(link);
  const first = await (await page.waitForFunction(usersAbove, 0, { timeout: 30000 * scale })).jsonValue();
  await shot(t, 'first');

  step('watch the counts grow');
  const later = await (await page.waitForFunction(usersAbove, first, { timeout: 30000 * scale })).jsonValue();
  expect(later > first, `users grew from ${first} to ${later}`);
  console.log(`users ${first} -> ${later}`);
  await shot(t, 'later');
});
