'use strict';
/* page_dags.js: the DAGs page. #/dags lists every DAG (schedule, next run, its last runs as
 * coloured squares, pause and trigger); #/dags/<id> is Airflow's grid view: one column per run
 * (oldest left), one row per task, a click on a cell shows that task instance with the log of
 * each try and a Clear button. Reads /api/dags; every change and the logs go through the
 * scheduler's REST at /api/v1/. */
(function () {
  const { el, api, fmt } = Sluice;
  if (!document.querySelector('link[href="/assets/ops.css"]'))
    document.head.appendChild(el('link', { rel: 'stylesheet', href: '/assets/ops.css' }));

  const enc = encodeURIComponent;
  const when = (iso) => (iso ? fmt.time(Date.parse(iso)) : '-');
  const isAdmin = () => (Sluice.session() || {}).role === 'admin';

  async function setPaused(id, paused) {
    await api('PATCH', `/api/v1/dags/${enc(id)}`, { is_paused: paused });
  }

  async function trigger(id, confText) {
    let conf = {};
    if (confText && confText.trim()) {
      conf = JSON.parse(confText);
      if (typeof conf !== 'object' || Array.isArray(conf) || conf === null)
        throw new Error('conf must be a JSON object');
    }
    return api('POST', `/api/v1/dags/${enc(id)}/dagRuns`, { conf });
  }

  function renderList(main) {
    const msg = el('p', { class: 'error', id: 'dags-error' });
    const body = el('tbody', { id: 'dag-list' });
    main.append(el('h1', {}, 'DAGs'), msg, el('div', { class: 'card' },
      el('table', {}, el('thead', {}, el('tr', {},
        ['DAG', 'Schedule', 'Next run', 'Last runs', 'Paused', ''].map((h) => el('th', {}, h)))),
      body)));
    async function refresh() {
      let data;
      try {
        data = await api('GET', '/api/dags');
        msg.textContent = '';
      } catch (e) {
        msg.textContent = e.message;
        return;
      }
      body.replaceChildren(...data.dags.map((d) => {
        const pause = el('button', { class: 'secondary pause', disabled: !isAdmin(),
          onclick: async () => {
            try { await setPaused(d.dag_id, !d.is_paused); refresh(); }
            catch (e) { msg.textContent = e.message; }
          } }, d.is_paused ? 'Unpause' : 'Pause');
        const trig = el('button', { class: 'trigger', disabled: !isAdmin(),
          onclick: async () => {
            try { await trigger(d.dag_id); refresh(); }
            catch (e) { msg.textContent = e.message; }
          } }, 'Trigger');
        return el('tr', { 'data-dag': d.dag_id },
          el('td', {}, el('a', { href: '#/dags/' + enc(d.dag_id) }, d.dag_id),
            d.description ? el('div', { class: 'muted' }, d.description) : null),
          el('td', {}, d.schedule || 'none'),
          el('td', {}, d.next_run ? when(d.next_run.logical_date) : '-'),
          el('td', {}, Sluice.squares(d.runs.map((r) =>
            ({ state: r.state, title: `${r.run_id}: ${r.state}` })))),
          el('td', { class: 'paused' }, d.is_paused ? 'yes' : 'no'),
          el('td', {}, pause, ' ', trig));
      }));
    }
    Sluice.every(3000, refresh);
  }

  /* The side panel of one task instance: its state, each try's log and Clear. */
  function showInstance(panel, dagId, run, task, cell, onChange) {
    const log = el('pre', { class: 'code log', id: 'log' }, 'Choose a try.');
    const tries = [];
    for (let n = 1; cell && n <= cell.try_number; n++) {
      tries.push(el('button', { class: 'secondary try', 'data-try': n, onclick: async () => {
        log.textContent = 'Loading...';
        try {
          const r = await api('GET', `/api/v1/dags/${enc(dagId)}/dagRuns/${enc(run.run_id)}` +
            `/taskInstances/${enc(task.task_id)}/logs/${n}`);
          log.textContent = r.content || '(empty log)';
        } catch (e) { log.textContent = e.message; }
      } }, 'Try ' + n));
    }
    const down = el('input', { type: 'checkbox', id: 'clear-downstream', checked: true });
    const out = el('span', { id: 'clear-result', class: 'muted' });
    const clear = el('button', { id: 'clear', disabled: !isAdmin(), onclick: async () => {
      try {
        const r = await api('POST', `/api/v1/dags/${enc(dagId)}/clearTaskInstances`,
          { dag_run_id: run.run_id, task_ids: [task.task_id], include_downstream: down.checked,
            dry_run: false });
        out.textContent = 'Cleared ' + r.task_instances.map((t) => t.task_id).join(', ');
        onChange();
      } catch (e) { out.textContent = e.message; }
    } }, 'Clear');
    panel.replaceChildren(
      el('h2', {}, `${task.task_id} in ${run.run_id}`),
      el('div', { class: 'row' }, Sluice.badge(cell ? cell.state : 'none'),
        el('span', {}, cell ? `try ${cell.try_number} of ${cell.max_tries}` : 'not created'),
        cell ? el('span', {}, `started ${when(cell.start_date)}, ended ${when(cell.end_date)}`) : null),
      el('div', { class: 'row' }, tries.length ? tries : el('span', { class: 'muted' }, 'No tries yet.')),
      el('div', { class: 'row' }, clear, el('label', {}, down, ' downstream too'), out),
      log);
    if (tries.length) tries[tries.length - 1].click();
  }

  function renderDag(main, id) {
    const msg = el('p', { class: 'error', id: 'dag-error' });
    const head = el('div', { class: 'row' });
    const gridBox = el('div', { class: 'card ops-grid', id: 'grid' });
    const panel = el('div', { class: 'card', id: 'instance' },
      el('p', { class: 'muted' }, 'Click a square to see its task instance.'));
    const conf = el('textarea', { class: 'code', id: 'conf', rows: 4 });
    const trigOut = el('span', { id: 'trigger-result', class: 'muted' });
    const trig = el('button', { id: 'trigger', disabled: !isAdmin(), onclick: async () => {
      try {
        const r = await trigger(id, conf.value);
        trigOut.textContent = 'Triggered ' + r.dag_run_id;
        refresh();
      } catch (e) { trigOut.textContent = e.message; }
    } }, 'Trigger');
    main.append(el('h1', {}, el('a', { href: '#/dags' }, 'DAGs'), ' / ', id), msg, head,
      el('div', { class: 'card' }, el('h2', {}, 'Trigger with conf'), conf,
        el('div', { class: 'row' }, trig, trigOut)),
      gridBox, panel);
    let selected = null, confFilled = false;
    async function refresh() {
      let g;
      try {
        g = await api('GET', `/api/dags/${enc(id)}`);
        msg.textContent = '';
      } catch (e) {
        msg.textContent = e.message;
        return;
      }
      if (!confFilled) {
        conf.value = JSON.stringify(g.dag.params || {}, null, 2);
        confFilled = true;
      }
      const d = g.dag;
      head.replaceChildren(Sluice.badge(d.is_paused ? 'paused' : 'active'),
        el('span', {}, `schedule ${d.schedule || 'none'} (${d.timezone})`),
        el('span', {}, d.next_run ? `next run ${when(d.next_run.logical_date)}` : 'no next run'),
        el('span', {}, `${g.total_runs} runs`),
        el('button', { class: 'secondary', id: 'pause', disabled: !isAdmin(), onclick: async () => {
          try { await setPaused(id, !d.is_paused); refresh(); }
          catch (e) { msg.textContent = e.message; }
        } }, d.is_paused ? 'Unpause' : 'Pause'));
      const longest = Math.max(1, ...g.runs.map((r) =>
        (Date.parse(r.end_date || new Date().toISOString()) - Date.parse(r.start_date || r.logical_date)) || 1));
      const runRow = el('tr', {}, el('th', { class: 'task' }, 'runs'), g.runs.map((r) => {
        const h = r.start_date ? Math.max(4, 40 * ((Date.parse(r.end_date || new Date().toISOString()) -
          Date.parse(r.start_date)) / longest)) : 4;
        const bar = el('span', { class: r.state });
        bar.style.height = h.toFixed(0) + 'px';
        return el('td', { title: `${r.run_id}\n${r.state}\nlogical ${when(r.logical_date)}` },
          el('div', { class: 'runbar', 'data-run': r.run_id, 'data-state': r.state }, bar));
      }));
      const rows = g.tasks.map((t, ti) => el('tr', {}, el('th', { class: 'task' }, t.task_id),
        g.runs.map((r, ri) => {
          const c = g.grid[ri][ti];
          const st = c ? c.state : 'missing';
          const sel = selected && selected.run === r.run_id && selected.task === t.task_id;
          return el('td', {}, el('div', {
            class: 'cell ' + st + (sel ? ' sel' : ''), 'data-run': r.run_id, 'data-task': t.task_id,
            'data-state': st, title: `${t.task_id} ${r.run_id}: ${st}` + (c ? ` (try ${c.try_number})` : ''),
            onclick: () => {
              selected = { run: r.run_id, task: t.task_id };
              showInstance(panel, id, r, t, c, refresh);
              gridBox.querySelectorAll('.cell.sel').forEach((x) => x.classList.remove('sel'));
              gridBox.querySelector(`.cell[data-run="${CSS.escape(r.run_id)}"][data-task="${CSS.escape(t.task_id)}"]`)
                .classList.add('sel');
            } }));
        })));
      gridBox.replaceChildren(g.runs.length ? el('table', {}, el('tbody', {}, runRow, rows))
        : el('p', { class: 'muted' }, 'No runs yet.'));
    }
    Sluice.every(2000, refresh);
  }

  Sluice.page('dags', {
    title: 'DAGs',
    render(main, params) {
      if (params[0]) renderDag(main, params[0]);
      else renderList(main);
    },
  });
})();
