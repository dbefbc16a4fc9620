'use strict';
/* app.js: the console's shell. Pages register with Sluice.page(name, {title, render(el, params)})
 * from their own page_<name>.js; the hash router shows #/<name>/<params...>. Every DOM node is
 * built with Sluice.el (text through textContent, never innerHTML), so data cannot inject
 * markup. Sluice.api sends the session's CSRF token on every state change. */
window.Sluice = (function () {
  const pages = {};
  const order = ['overview', 'topics', 'groups', 'dags', 'tables', 'schemas', 'alerts', 'users'];
  let session = null;
  let timers = [];

  function page(name, def) { pages[name] = def; }

  async function api(method, path, body) {
    const headers = { 'X-Requested-With': 'sluice' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && method !== 'HEAD' && session && session.csrf)
      headers['X-CSRF-Token'] = session.csrf;
    const r = await fetch(path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let data = text;
    try { data = text ? JSON.parse(text) : null; } catch (e) { /* not JSON: keep the text */ }
    if (r.status === 401 && path !== '/api/login') { session = null; showLogin(); }
    if (!r.ok) {
      const err = new Error((data && data.error) || (data && data.detail) || r.statusText);
      err.status = r.status;
      err.data = data;
      throw err;
    }
    return data;
  }

  /* el('div', {class: 'x', onclick: f}, 'text', child, [more]) */
  function el(tag, attrs, ...children) {
    const svg = ['svg', 'g', 'line', 'rect', 'path', 'text', 'circle', 'polyline', 'title',
      'polygon'].includes(tag);
    const e = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag)
      : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'value' && !svg) e.value = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    const add = (c) => {
      if (c === undefined || c === null || c === false) return;
      if (Array.isArray(c)) c.forEach(add);
      else e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    };
    children.forEach(add);
    return e;
  }

  const fmt = {
    num(n) {
      if (n === undefined || n === null || Number.isNaN(n)) return '-';
      return Number(n).toLocaleString('en-US', { maximumFractionDigits: 1 });
    },
    rate(n) { return n === undefined || n === null ? '-' : fmt.num(n) + '/s'; },
    bytes(n) {
      if (n === undefined || n === null) return '-';
      const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let i = 0;
      while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
      return n.toFixed(i ? 1 : 0) + ' ' + u[i];
    },
    ago(ms) {
      if (!ms) return '-';
      const s = Math.round((Date.now() - ms) / 1000);
      if (s < 60) return s + 's ago';
      if (s < 3600) return Math.round(s / 60) + 'm ago';
      if (s < 86400) return Math.round(s / 3600) + 'h ago';
      return Math.round(s / 86400) + 'd ago';
    },
    time(ms) { return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '-'; },
  };

  /* A line chart of series [{name, points: [[t_ms, value], ...], color}] as an SVG element. */
  function lineChart(series, opts) {
    opts = opts || {};
    const W = 600, H = 160, L = 44, R = 8, T = 8, B = 18;
    const pts = series.flatMap((s) => s.points);
    const svg = el('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`,
      preserveAspectRatio: 'none', role: 'img', 'aria-label': opts.label || 'chart' });
    if (!pts.length) {
      svg.appendChild(el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'no data yet'));
      return svg;
    }
    const t0 = Math.min(...pts.map((p) => p[0])), t1 = Math.max(...pts.map((p) => p[0]));
    const vmax = Math.max(opts.min || 0, ...pts.map((p) => p[1])) || 1;
    const x = (t) => L + (t1 === t0 ? 0 : (t - t0) / (t1 - t0)) * (W - L - R);
    const y = (v) => T + (1 - v / vmax) * (H - T - B);
    svg.appendChild(el('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }));
    svg.appendChild(el('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }));
    svg.appendChild(el('text', { x: L - 4, y: T + 8, 'text-anchor': 'end' }, fmt.num(vmax)));
    svg.appendChild(el('text', { x: L - 4, y: H - B, 'text-anchor': 'end' }, '0'));
    svg.appendChild(el('text', { x: L, y: H - 4 }, new Date(t0).toLocaleTimeString()));
    svg.appendChild(el('text', { x: W - R, y: H - 4, 'text-anchor': 'end' },
      new Date(t1).toLocaleTimeString()));
    const colors = ['#2f6fdb', '#2e9d5b', '#d64541', '#e0a020', '#8e5bd6'];
    series.forEach((s, i) => {
      if (!s.points.length) return;
      const d = s.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
      svg.appendChild(el('polyline', { points: d, fill: 'none',
        stroke: s.color || colors[i % colors.length], 'stroke-width': 2,
        'vector-effect': 'non-scaling-stroke' }, el('title', {}, s.name)));
    });
    return svg;
  }

  /* Coloured squares, one per state (e.g. the last DAG runs), oldest first. */
  function squares(items) {
    return el('span', { class: 'squares' }, items.map((it) =>
      el('span', { class: 'sq ' + (it.state || ''), title: it.title || it.state || '' })));
  }

  function badge(state) { return el('span', { class: 'badge ' + (state || '') }, state || '-'); }

  /* Calls fn now and every ms until the page changes. */
  function every(ms, fn) {
    fn();
    timers.push(setInterval(fn, ms));
  }

  function table(headers, rows) {
    return el('table', {},
      el('thead', {}, el('tr', {}, headers.map((h) =>
        el('th', { class: h.num ? 'num' : null }, h.title || h)))),
      el('tbody', {}, rows));
  }

  function navigate() {
    timers.forEach(clearInterval);
    timers = [];
    const main = document.getElementById('main');
    main.replaceChildren();
    if (!session) { showLogin(); return; }
    const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    const names = Object.keys(pages);
    const name = pages[parts[0]] ? parts[0] : (pages.overview ? 'overview' : names[0]);
    document.querySelectorAll('#nav a').forEach((a) =>
      a.classList.toggle('active', a.dataset.page === name));
    if (!name) { main.appendChild(el('p', { class: 'muted' }, 'No pages.')); return; }
    document.title = pages[name].title + ' - sluice console';
    try {
      const r = pages[name].render(main, parts.slice(1));
      if (r && r.catch) r.catch((e) => main.appendChild(el('p', { class: 'error' }, e.message)));
    } catch (e) {
      main.appendChild(el('p', { class: 'error' }, e.message));
    }
  }

  function drawChrome() {
    const nav = document.getElementById('nav');
    const who = document.getElementById('who');
    nav.replaceChildren();
    who.replaceChildren();
    if (!session) return;
    const names = Object.keys(pages).sort((a, b) =>
      (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
    for (const n of names) {
      if (pages[n].admin && session.role !== 'admin') continue;
      nav.appendChild(el('a', { href: '#/' + n, 'data-page': n }, pages[n].title));
    }
    who.append(el('span', { id: 'whoami' }, session.user + ' (' + session.role + ')'),
      el('button', { class: 'secondary', id: 'logout', onclick: logout }, 'Log out'));
  }

  async function logout() {
    try { await api('POST', '/api/logout'); } catch (e) { /* the session is gone either way */ }
    session = null;
    drawChrome();
    showLogin();
  }

  function showLogin() {
    timers.forEach(clearInterval);
    timers = [];
    drawChrome();
    const main = document.getElementById('main');
    const msg = el('p', { class: 'error', id: 'login-error' });
    const user = el('input', { id: 'login-user', name: 'user', autocomplete: 'username' });
    const pw = el('input', { id: 'login-password', name: 'password', type: 'password',
      autocomplete: 'current-password' });
    const form = el('form', { class: 'card login', id: 'login' },
      el('h1', {}, 'Log in to sluice'),
      el('label', { for: 'login-user' }, 'User'), user,
      el('label', { for: 'login-password' }, 'Password'), pw,
      el('button', { type: 'submit' }, 'Log in'), msg);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      try {
        session = await api('POST', '/api/login', { user: user.value, password: pw.value });
        drawChrome();
        navigate();
      } catch (e) {
        msg.textContent = e.status === 401 ? 'Wrong user or password.' : e.message;
      }
    });
    main.replaceChildren(form);
    user.focus();
  }

  async function start() {
    try {
      session = await api('GET', '/api/session');
    } catch (e) {
      session = null;
    }
    drawChrome();
    window.addEventListener('hashchange', navigate);
    navigate();
  }

  return { page, api, el, fmt, lineChart, squares, badge, every, table, start,
    session: () => session };
})();
