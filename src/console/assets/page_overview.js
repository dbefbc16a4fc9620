'use strict';
/* page_overview.js: the pipeline as a picture (API -> ingest -> topic -> process -> table) with
 * live rates on its edges, consumer lag, the last DAG run, firing alerts and the supervisor's
 * events, from GET /api/overview (the collector's latest sample). */
(function () {
  const { el, fmt } = Sluice;
  const n = (x) => (x === undefined || x === null || x < 0 ? '-' : fmt.num(x)); /* -1: unknown */

  function pipeline(o) {
    const up = o.components || {};
    const nodes = [
      { id: 'api', label: 'API', sub: 'randomuser', ok: true },
      { id: 'ingest', label: 'ingest', sub: (o.scheduler && o.scheduler.last_dag) || 'DAG task',
        ok: up.scheduler },
      { id: 'topic', label: 'topic', sub: o.topic.name, ok: up.broker },
      { id: 'process', label: 'process', sub: (o.processor.count || 0) + ' running',
        ok: up.processor },
      { id: 'table', label: 'table', sub: o.table.name, ok: up.store },
    ];
    const edges = [fmt.rate(o.topic.rate), fmt.rate(o.topic.rate), fmt.rate(o.processor.rate),
      fmt.rate(o.table.rate)];
    const W = 1000, H = 170, w = 150, h = 62, gap = (W - nodes.length * w) / (nodes.length - 1);
    const svg = el('svg', { class: 'pipeline', viewBox: `0 0 ${W} ${H}`, id: 'pipeline',
      role: 'img', 'aria-label': 'pipeline' });
    nodes.forEach((n, i) => {
      const x = i * (w + gap), y = 40;
      if (i > 0) {
        const x0 = x - gap + 4, x1 = x - 4;
        svg.appendChild(el('g', { class: 'edge', 'data-edge': nodes[i - 1].id + '-' + n.id },
          el('line', { x1: x0, y1: y + h / 2, x2: x1, y2: y + h / 2 }),
          el('polygon', { points: `${x1},${y + h / 2} ${x1 - 8},${y + h / 2 - 5} ${x1 - 8},${y + h / 2 + 5}`,
            fill: '#6b7385' }),
          el('text', { x: (x0 + x1) / 2, y: y + h / 2 - 10, 'text-anchor': 'middle' }, edges[i - 1])));
      }
      svg.appendChild(el('g', { class: 'node' + (n.ok ? '' : ' down'), 'data-node': n.id },
        el('rect', { x, y, width: w, height: h, rx: 8 }),
        el('text', { x: x + w / 2, y: y + 26, 'text-anchor': 'middle' }, n.label),
        el('text', { class: 'sub', x: x + w / 2, y: y + 46, 'text-anchor': 'middle' },
          String(n.sub).slice(0, 24))));
    });
    return svg;
  }

  function card(title, ...body) {
    return el('div', { class: 'card' }, el('h2', {}, title), ...body);
  }

  function render(main) {
    const root = el('div', { id: 'overview' }, el('h1', {}, 'Overview'),
      el('p', { class: 'muted' }, 'Waiting for the first sample...'));
    main.appendChild(root);
    Sluice.every(2000, async () => {
      let o;
      try {
        o = await Sluice.api('GET', '/api/overview');
      } catch (e) {
        root.replaceChildren(el('h1', {}, 'Overview'), el('p', { class: 'error' }, e.message));
        return;
      }
      if (!o.t) return;
      const hist = o.history || [];
      const lagPts = hist.filter((p) => p[5] >= 0).map((p) => [p[0], p[5]]);
      const sched = o.scheduler || {};
      const firing = o.alerts_firing || [];
      const events = (o.events || []).slice().reverse();
      const comps = Object.entries(o.components || {}).map(([k, v]) =>
        el('span', { class: 'badge ' + (v ? 'ok' : 'failed'), 'data-component': k }, k));
      root.replaceChildren(
        el('h1', {}, 'Overview'),
        el('div', { class: 'row' }, comps, el('span', { class: 'muted' },
          'sampled ' + fmt.ago(o.t))),
        el('div', { class: 'card' }, pipeline(o)),
        el('div', { class: 'grid' },
          card('Consumer lag',
            el('div', { class: 'big', id: 'lag' }, n(o.group.lag)),
            el('p', { class: 'muted' }, `group ${o.group.name} (${o.group.state || 'no members'}),` +
              ` ${n(o.group.committed)} committed`),
            Sluice.lineChart([{ name: 'lag', points: lagPts }], { label: 'lag' })),
          card('Last DAG run',
            sched.last_state ? el('p', {}, Sluice.badge(sched.last_state), ' ',
              el('a', { href: '#/dags/' + encodeURIComponent(sched.last_dag), id: 'last-run' },
                sched.last_dag + ' / ' + sched.last_run))
              : el('p', { class: 'muted', id: 'last-run' }, 'no runs yet'),
            el('p', { class: 'muted' }, `${sched.dags || 0} DAGs; ${sched.dags_failed || 0} whose` +
              ' last run failed')),
          card('Alerts firing',
            firing.length ? el('ul', { id: 'firing' }, firing.map((a) =>
              el('li', {}, Sluice.badge('firing'), ' ', a.name, ' (value ' + fmt.num(a.value) +
                ', since ' + fmt.ago(a.since) + ')')))
              : el('p', { class: 'muted', id: 'firing' }, 'none'),
            el('a', { href: '#/alerts' }, 'all rules and history'))),
        el('div', { class: 'grid' },
          card('Records/s',
            Sluice.lineChart([
              { name: 'into ' + o.topic.name, points: hist.map((p) => [p[0], p[1]]) },
              { name: 'processed', points: hist.map((p) => [p[0], p[2]]) },
              { name: 'rows written', points: hist.map((p) => [p[0], p[3]]) },
              { name: 'to the DLQ', points: hist.map((p) => [p[0], p[4]]), color: '#d64541' },
            ], { label: 'records per second' }),
            el('p', { class: 'muted' }, `${o.topic.name}: ${n(o.topic.messages)} records;` +
              ` ${o.dlq.name}: ${n(o.dlq.messages)}; ${o.table.name}: ` +
              `${n(o.table.rows)} rows`)),
          card('Supervisor events',
            events.length ? Sluice.table(['time', 'child', 'event', 'detail'],
              events.slice(0, 12).map((e) => el('tr', { class: 'event', 'data-child': e.child },
                el('td', {}, fmt.time(e.t)), el('td', {}, e.child),
                el('td', {}, Sluice.badge(e.event === 'restarting' ? 'failed' : 'ok'), ' ', e.event),
                el('td', {}, e.detail))))
              : el('p', { class: 'muted', id: 'events' }, 'none (the console runs outside sluice up)'))));
    });
  }

  Sluice.page('overview', { title: 'Overview', render });
})();
