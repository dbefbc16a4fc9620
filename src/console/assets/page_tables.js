'use strict';
/* page_tables.js: the Tables page. On the left the keyspaces, their tables with row counts and
 * columns (/api/cql/schema); on the right a CQL box that runs a statement through
 * /api/cql/query and pages through its rows with the paging state each page returns. "Refresh
 * every 2 s" re-runs the statement's first page and the row counts, so a table being written
 * (a window's users_per_nat_minute under `sluice up`) is seen updating. */
(function () {
  const { el, api, fmt } = Sluice;
  if (!document.querySelector('link[href="/assets/ops.css"]'))
    document.head.appendChild(el('link', { rel: 'stylesheet', href: '/assets/ops.css' }));

  const ident = (s) => (/^[a-z_][a-z0-9_]*$/.test(s) ? s : '"' + s.replace(/"/g, '""') + '"');

  function render(main) {
    const tree = el('div', { class: 'card ops-tree', id: 'keyspaces' }, el('p', { class: 'muted' }, 'Loading...'));
    const showSystem = el('input', { type: 'checkbox', id: 'show-system' });
    const stmt = el('textarea', { class: 'code', id: 'cql', rows: 5,
      placeholder: 'SELECT * FROM spark_streams.created_users;' });
    const size = el('select', { id: 'cql-page-size' },
      [20, 100, 500].map((n) => el('option', { value: n, selected: n === 100 }, n + ' rows a page')));
    const status = el('span', { id: 'cql-status', class: 'muted' });
    const result = el('div', { class: 'results', id: 'cql-result' });
    const next = el('button', { class: 'secondary', id: 'cql-next', disabled: true }, 'Next page');
    const live = el('input', { type: 'checkbox', id: 'cql-live' });
    const run = el('button', { id: 'cql-run', disabled: (Sluice.session() || {}).role !== 'admin' }, 'Run');
    let schema = null, paging = null, current = null, pageNo = 0, timer = null, busy = false;

    function drawTree() {
      const kss = schema.keyspaces.filter((k) => showSystem.checked || !k.system);
      tree.replaceChildren(el('label', {}, showSystem, ' system keyspaces'),
        kss.length ? el('ul', {}, kss.map((k) => el('li', { 'data-keyspace': k.name },
          el('strong', {}, k.name),
          el('span', { class: 'muted' }, ' ' + (k.replication ? (k.replication.class || '').replace(/.*\./, '') +
            (k.replication.replication_factor ? ' rf ' + k.replication.replication_factor : '') : '')),
          el('ul', {}, k.tables.map((t) => el('li', { 'data-table': k.name + '.' + t.name },
            el('a', { onclick: () => {
              stmt.value = `SELECT * FROM ${ident(k.name)}.${ident(t.name)};`;
              if (!run.disabled) go();
            } }, t.name),
            t.rows === null ? '' : el('span', { class: 'muted rows' }, ` ${fmt.num(t.rows)}${t.rows_more ? '+' : ''} rows`),
            el('div', { class: 'cols' }, t.columns.slice().sort((a, b) =>
              ({ partition_key: 0, clustering: 1, static: 2, regular: 3 }[a.kind] -
               { partition_key: 0, clustering: 1, static: 2, regular: 3 }[b.kind]) || a.position - b.position)
              .map((c) => `${c.name} ${c.type}${c.kind === 'partition_key' ? ' (partition key)' :
                c.kind === 'clustering' ? ` (clustering ${c.clustering_order})` : ''}`).join(', ')))))))) :
          el('p', { class: 'muted' }, 'No keyspaces.'));
    }
    showSystem.addEventListener('change', drawTree);

    async function loadSchema() {
      try {
        schema = await api('GET', '/api/cql/schema');
        drawTree();
      } catch (e) {
        tree.replaceChildren(el('p', { class: 'error' }, e.message));
      }
    }

    function drawRows(r) {
      if (r.kind !== 'rows') {
        result.replaceChildren(el('p', { class: 'ok' }, r.kind === 'schema_change'
          ? `${r.change.type} ${r.change.target} ${r.change.keyspace}${r.change.name ? '.' + r.change.name : ''}`
          : 'Done.'));
        return;
      }
      result.replaceChildren(Sluice.table(r.columns.map((c) => ({ title: `${c.name} (${c.type})` })),
        r.rows.map((row) => el('tr', {}, row.map((v) =>
          el('td', { class: v === null ? 'null' : null }, v === null ? 'null' : v))))));
    }

    async function page(state, quiet) {
      if (!quiet) status.textContent = 'Running...';
      status.className = 'muted';
      const body = { statement: current, page_size: Number(size.value) };
      if (state) body.paging_state = state;
      try {
        const r = await api('POST', '/api/cql/query', body);
        pageNo = state ? pageNo + 1 : 1;
        paging = r.paging_state;
        next.disabled = !paging;
        drawRows(r);
        status.textContent = r.kind === 'rows'
          ? `page ${pageNo}: ${r.rows.length} rows in ${r.took_ms} ms${paging ? ', more to come' : ''}`
          : `${r.kind} in ${r.took_ms} ms`;
        (r.warnings || []).forEach((w) => result.prepend(el('p', { class: 'muted' }, 'Warning: ' + w)));
        if (r.kind === 'schema_change') loadSchema();
      } catch (e) {
        status.textContent = e.message;
        status.className = 'error';
        next.disabled = true;
      }
    }
    function go() {
      current = stmt.value;
      page(null);
    }
    /* Only while the page is shown: a tick after navigating away stops the timer. */
    async function tick() {
      if (!main.isConnected || !live.checked) {
        clearInterval(timer);
        timer = null;
        return;
      }
      if (busy) return;
      busy = true;
      try {
        await loadSchema();
        if (current && !run.disabled) await page(null, true);
      } finally {
        busy = false;
      }
    }
    live.addEventListener('change', () => {
      if (live.checked && !timer) timer = setInterval(tick, 2000);
    });
    run.addEventListener('click', go);
    next.addEventListener('click', () => page(paging));
    stmt.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); go(); }
    });

    main.append(el('h1', {}, 'Tables'), el('div', { class: 'ops-split' }, tree,
      el('div', {}, el('div', { class: 'card' }, stmt,
        el('div', { class: 'row' }, run, size, next,
          el('label', {}, live, ' refresh every 2 s'), status)), el('div', { class: 'card' }, result))));
    loadSchema();
  }

  Sluice.page('tables', { title: 'Tables', render });
})();
