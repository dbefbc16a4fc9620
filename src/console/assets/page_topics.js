'use strict';
/* page_topics.js: the Topics page. #/topics lists every topic (partitions, messages, in/out
 * rates, refreshed every 2 s, under an in/out rate chart of them all); #/topics/<name> shows one topic: its rate chart, partition
 * offsets, configs and consuming groups, a message browser and, for admins, a produce form. */
(function () {
  const { api, el, fmt } = Sluice;
  const enc = encodeURIComponent;

  function errorBox(e) { return el('p', { class: 'error' }, e.message); }

  /* JSON pretty-printed; anything else as it is. */
  function pretty(text, format) {
    if (text === null || text === undefined) return 'null';
    if (format === 'json' || format === 'avro') {
      try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* as is */ }
    }
    return text;
  }

  async function list(main) {
    let showInternal = false;
    const body = el('tbody', { id: 'topics-body' });
    const toggle = el('input', { type: 'checkbox', id: 'show-internal',
      onchange: () => { showInternal = toggle.checked; refresh(); } });
    const msg = el('p', { class: 'error', id: 'topics-error' });
    const chart = el('div', { class: 'card', id: 'topics-rates' });
    main.append(el('h1', {}, 'Topics'), chart,
      el('div', { class: 'row' }, el('label', {}, toggle, ' show internal topics')), msg,
      el('div', { class: 'card' }, el('table', { id: 'topics' },
        el('thead', {}, el('tr', {}, el('th', {}, 'Topic'), el('th', { class: 'num' }, 'Partitions'),
          el('th', { class: 'num' }, 'Messages'), el('th', { class: 'num' }, 'Size'),
          el('th', { class: 'num' }, 'In'),
          el('th', { class: 'num' }, 'Out'))), body)));
    async function refresh() {
      try {
        const d = await api('GET', '/api/topics');
        msg.textContent = '';
        chart.replaceChildren(el('h2', {}, 'All topics: messages in and out per second'),
          rateChart(d.history));
        const rows = d.topics.filter((t) => showInternal || !t.internal).map((t) =>
          el('tr', { 'data-topic': t.name },
            el('td', {}, el('a', { href: '#/topics/' + enc(t.name) }, t.name),
              t.error ? el('span', { class: 'error' }, ' ' + t.error) : null),
            el('td', { class: 'num' }, t.partitions),
            el('td', { class: 'num messages' }, fmt.num(t.messages)),
            el('td', { class: 'num size' }, fmt.bytes(t.size_bytes)),
            el('td', { class: 'num' }, fmt.rate(t.in_rate)),
            el('td', { class: 'num' }, fmt.rate(t.out_rate))));
        body.replaceChildren(...(rows.length ? rows
          : [el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'No topics.'))]));
      } catch (e) {
        msg.textContent = e.message;
      }
    }
    Sluice.every(2000, refresh);
  }

  function rateChart(history) {
    return Sluice.lineChart([
      { name: 'in (messages/s)', points: history.map((p) => [p[0], p[1]]) },
      { name: 'out (messages/s)', points: history.map((p) => [p[0], p[2]]) },
    ], { label: 'in and out rate' });
  }

  function browser(name, partitions) {
    const part = el('select', { id: 'browse-partition' }, el('option', { value: '' }, 'all'),
      partitions.map((p) => el('option', { value: p.partition }, String(p.partition))));
    const from = el('select', { id: 'browse-from' }, ['newest', 'oldest', 'offset', 'timestamp']
      .map((m) => el('option', { value: m }, m)));
    const offset = el('input', { id: 'browse-offset', type: 'number', min: 0,
      placeholder: 'offset', size: 8 });
    const when = el('input', { id: 'browse-time', type: 'datetime-local', step: 1 });
    const limit = el('input', { id: 'browse-limit', type: 'number', min: 1, max: 500,
      value: 20, size: 5 });
    const q = el('input', { id: 'browse-q', placeholder: 'search key/value', size: 24 });
    const inField = el('select', { id: 'browse-in' }, ['any', 'key', 'value']
      .map((m) => el('option', { value: m }, m === 'any' ? 'key or value' : m)));
    const out = el('div', { id: 'browse-results' });
    const status = el('p', { class: 'muted', id: 'browse-status' });

    async function browse(ev) {
      if (ev) ev.preventDefault();
      const p = new URLSearchParams({ from: from.value, limit: limit.value || '20' });
      if (part.value !== '') p.set('partition', part.value);
      if (from.value === 'offset') p.set('offset', offset.value || '0');
      if (from.value === 'timestamp')
        p.set('timestamp', String(when.value ? new Date(when.value).getTime() : 0));
      if (q.value) { p.set('q', q.value); p.set('in', inField.value); }
      status.textContent = 'Reading...';
      try {
        const d = await api('GET', `/api/topics/${enc(name)}/messages?${p}`);
        status.textContent = `${d.messages.length} message(s), ${d.scanned} read` +
          (d.complete ? '' : ' (stopped at the time limit)') + (d.error ? ': ' + d.error : '');
        out.replaceChildren(...d.messages.map((m) => el('div', { class: 'card msg',
          'data-partition': m.partition, 'data-offset': m.offset },
          el('div', { class: 'row muted' },
            el('span', {}, `partition ${m.partition} offset ${m.offset}`),
            el('span', {}, fmt.time(m.timestamp)), el('span', {}, fmt.bytes(m.size)),
            el('span', { class: 'badge' }, m.value_format),
            m.value_schema_id !== undefined ? el('span', {}, 'schema ' + m.value_schema_id) : null),
          el('div', { class: 'row' }, el('b', {}, 'key '),
            el('code', { class: 'msg-key' }, m.key === null ? 'null' : m.key)),
          m.headers.length ? el('div', { class: 'row muted' },
            m.headers.map((h) => el('span', {}, `${h.key}=${h.value}`))) : null,
          m.value_error ? el('p', { class: 'error' }, m.value_error) : null,
          el('pre', { class: 'msg-value' }, pretty(m.value, m.value_format)))));
      } catch (e) {
        status.textContent = '';
        out.replaceChildren(errorBox(e));
      }
    }
    const form = el('form', { class: 'row', id: 'browse-form' },
      el('label', {}, 'Partition ', part), el('label', {}, 'From ', from), offset, when,
      el('label', {}, 'Limit ', limit), q, inField, el('button', { type: 'submit' }, 'Browse'));
    form.addEventListener('submit', browse);
    browse();
    return el('div', {}, el('h2', {}, 'Messages'), form, status, out);
  }

  function producer(name, partitions) {
    const key = el('input', { id: 'produce-key', placeholder: 'key (empty: none)', size: 24 });
    const part = el('select', { id: 'produce-partition' },
      el('option', { value: '' }, 'by key'),
      partitions.map((p) => el('option', { value: p.partition }, String(p.partition))));
    const value = el('textarea', { id: 'produce-value', rows: 4, cols: 80,
      placeholder: 'value, e.g. {"hello": "world"}' });
    const result = el('p', { id: 'produce-result' });
    const form = el('form', { id: 'produce-form' },
      el('div', { class: 'row' }, key, el('label', {}, 'Partition ', part)), value,
      el('div', { class: 'row' }, el('button', { type: 'submit' }, 'Produce'), result));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = { value: value.value };
      if (key.value) body.key = key.value;
      if (part.value !== '') body.partition = Number(part.value);
      try {
        const r = await api('POST', `/api/topics/${enc(name)}/messages`, body);
        result.className = 'muted';
        result.textContent = `produced to partition ${r.partition} at offset ${r.offset}`;
      } catch (e) {
        result.className = 'error';
        result.textContent = e.message;
      }
    });
    return el('div', {}, el('h2', {}, 'Produce a message'), form);
  }

  async function detail(main, name) {
    main.append(el('p', {}, el('a', { href: '#/topics' }, 'Topics'), ' / ', name));
    let d;
    try {
      d = await api('GET', '/api/topics/' + enc(name));
    } catch (e) {
      main.append(errorBox(e));
      return;
    }
    const head = el('h1', { id: 'topic-title' });
    const chart = el('div', { class: 'card', id: 'topic-rates' });
    const parts = el('tbody', { id: 'partitions-body' });
    const groups = el('div', { id: 'topic-groups' });
    function draw(t) {
      head.replaceChildren(`${t.name}: ${fmt.num(t.messages)} messages`
        + ` (${fmt.bytes(t.size_bytes)}), in ${fmt.rate(t.in_rate)}`
        + `, out ${fmt.rate(t.out_rate)}`);
      chart.replaceChildren(rateChart(t.history));
      parts.replaceChildren(...t.partitions.map((p) => el('tr', {},
        el('td', {}, p.partition), el('td', { class: 'num' }, p.leader),
        el('td', { class: 'num' }, fmt.num(p.start)), el('td', { class: 'num' }, fmt.num(p.end)),
        el('td', { class: 'num' }, fmt.num(p.messages)),
        el('td', { class: 'num' }, fmt.bytes(p.size_bytes)))));
      groups.replaceChildren(...(t.groups.length ? t.groups.map((g) => el('span', {},
        el('a', { href: '#/groups/' + enc(g.group) }, g.group), ` lag ${fmt.num(g.lag)} `))
        : [el('span', { class: 'muted' }, 'No consumer group has offsets here.')]));
    }
    draw(d);
    const configs = Sluice.table(['Config', 'Value', 'Source'], d.configs.map((c) => el('tr', {},
      el('td', {}, c.name), el('td', {}, c.value === null ? '(hidden)' : c.value),
      el('td', { class: 'muted' }, c.default ? 'default' : 'topic'))));
    const partHead = el('thead', {}, el('tr', {}, el('th', {}, 'Partition'),
      ['Leader', 'Start', 'End', 'Messages', 'Size'].map((h) => el('th', { class: 'num' }, h))));
    main.append(head, chart, el('div', { class: 'grid' },
      el('div', { class: 'card' }, el('h2', {}, 'Partitions'),
        el('table', { id: 'partitions' }, partHead, parts)),
      el('div', { class: 'card' }, el('h2', {}, 'Configs'),
        d.configs_error ? el('p', { class: 'error' }, d.configs_error) : configs)),
    el('div', { class: 'card' }, el('h2', {}, 'Consumer groups'), groups),
    el('div', { class: 'card' }, browser(name, d.partitions)));
    const s = Sluice.session();
    if (s && s.role === 'admin') main.append(el('div', { class: 'card' }, producer(name, d.partitions)));
    Sluice.every(2000, async () => {
      try { draw(await api('GET', '/api/topics/' + enc(name))); } catch (e) { /* keep the last */ }
    });
  }

  Sluice.page('topics', {
    title: 'Topics',
    render(main, params) { return params[0] ? detail(main, params[0]) : list(main); },
  });
})();
