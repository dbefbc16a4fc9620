// console_core.mjs: the console shell in Chromium (run by test_0710_console_browser.py, which
// starts a broker and a console and passes CONSOLE_URL, ADMIN_PASSWORD, EXPECT_MESSAGES):
// a wrong password is refused; log in; the Overview draws the pipeline and shows the topic's
// message count; the Alerts page lists the rules, and an admin edits them; the Users page adds a
// viewer; the viewer sees no Users page and no rule editor; log out. Screenshots: core-*.png.
import { run, login, logout, shot, step, expect } from './lib.mjs';

await run('core', async (t) => {
  const p = t.page;
  step('a wrong password is refused');
  await p.goto(t.url + '/');
  await p.fill('#login-user', 'admin');
  await p.fill('#login-password', 'not-the-password');
  await p.click('#login button[type=submit]');
  await p.waitForFunction(() => /Wrong user or password/.test(
    document.querySelector('#login-error').textContent));
  await shot(t, 'login-refused');

  step('log in');
  await login(t, 'admin', process.env.ADMIN_PASSWORD);
  expect((await p.textContent('#whoami')) === 'admin (admin)', 'whoami shows admin (admin)');

  step('overview: the pipeline with its rates and the topic count');
  await p.goto(t.url + '/#/overview');
  await p.waitForSelector('#pipeline g.node[data-node="table"]');
  for (const n of ['api', 'ingest', 'topic', 'process', 'table'])
    expect(await p.$(`#pipeline g.node[data-node="${n}"]`), 'node ' + n);
  expect((await p.$$('#pipeline g.edge')).length === 4, 'four edges');
  await p.waitForSelector('span.badge.ok[data-component="broker"]');
  const want = process.env.EXPECT_MESSAGES;
  await p.waitForFunction((n) => document.querySelector('#overview').textContent
    .includes(`users_created: ${Number(n).toLocaleString('en-US')} records`), want);
  await shot(t, 'overview');

  step('alerts: the rules, then an admin edits them');
  await p.goto(t.url + '/#/alerts');
  await p.waitForSelector('tr.rule[data-rule="consumer lag"]');
  const rules = JSON.parse(await p.inputValue('#rules-json'));
  rules.push({ name: 'records in', metric: 'records_per_s', target: 'users_created', op: '>',
    threshold: 1000000, for_ms: 0 });
  await p.fill('#rules-json', JSON.stringify(rules));
  await p.click('#rules-save');
  await p.waitForSelector('tr.rule[data-rule="records in"][data-state="ok"]');
  await p.fill('#rules-json', '[{"name": "x", "metric": "nope", "threshold": 1}]');
  await p.click('#rules-save');
  await p.waitForFunction(() => /metric must be/.test(document.querySelector('#rules-result').textContent));
  await shot(t, 'alerts');

  step('users: add a viewer');
  await p.goto(t.url + '/#/users');
  await p.fill('#user-name', 'vera');
  await p.fill('#user-password', 'vera-password-1');
  await p.selectOption('#user-role', 'viewer');
  await p.click('#user-add');
  await p.waitForSelector('tr[data-user="vera"]');
  await shot(t, 'users');

  step('the viewer: no Users page, no rule editor');
  await logout(t);
  await login(t, 'vera', 'vera-password-1');
  expect(!(await p.$('#nav a[data-page="users"]')), 'no Users link for a viewer');
  await p.goto(t.url + '/#/alerts');
  await p.waitForSelector('tr.rule[data-rule="records in"]');
  expect(!(await p.$('#rules-json')), 'no rule editor for a viewer');
  await shot(t, 'viewer-alerts');
  await logout(t);
  await shot(t, 'logged-out');
});
