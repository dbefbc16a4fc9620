'use strict';
/* page_groups.js: the Consumer groups page. #/groups lists every group (state, members,
 * topics, total lag); #/groups/<id> shows members and their assignments, committed offsets and
 * lag per partition, a lag chart over time, and, for admins, resetting the offsets while the
 * group is empty. Both refresh every 2 s. */
(function () {
  const { api, el, fmt } = Sluice;
  const enc = encodeURIComponent;

  async function list(main) {
    const body = el('tbody', { id: 'groups-body' });
    const msg = el('p', { class: 'error' });
    main.append(el('h1', {}, 'Consumer groups'), msg, el('div', { class: 'card' },
      el('table', { id: 'groups' }, el('thead', {}, el('tr', {}, el('th', {}, 'Group'),
        el('th', {}, 'State'), el('th', { class: 'num' }, 'Members'), el('th', {}, 'Topics'),
        el('th', { class: 'num' }, 'Lag'))), body)));
    Sluice.every(2000, async () => {
      try {
        const d = await api('GET', '/api/groups');
        msg.textContent = d.error || '';
        const rows = d.groups.map((g) => el('tr', { 'data-group': g.group },
          el('td', {}, el('a', { href: '#/groups/' + enc(g.group) }, g.group)),
          el('td', {}, Sluice.badge(g.state)), el('td', { class: 'num' }, g.members),
          el('td', {}, g.topics.join(', ')), el('td', { class: 'num lag' }, fmt.num(g.lag))));
        body.replaceChildren(...(rows.length ? rows
          : [el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'No consumer groups.'))]));
      } catch (e) {
        msg.textContent = e.message;
      }
    });
  }

  function lagChart(h) {
    const series = [{ name: 'total', points: h.ts.map((t, i) => [t, h.total[i]]) }];
    for (const [name, vals] of Object.entries(h.partitions)) {
      series.push({ name, points: h.ts.map((t, i) => [t, vals[i]]).filter((p) => p[1] !== null) });
    }
    return Sluice.lineChart(series, { label: 'consumer lag' });
  }

  function resetForm(id, onDone) {
    const to = el('select', { id: 'reset-to' }, ['earliest', 'latest', 'timestamp']
      .map((m) => el('option', { value: m }, m)));
    const when = el('input', { id: 'reset-time', type: 'datetime-local', step: 1 });
    const topic = el('input', { id: 'reset-topic', placeholder: 'topic (empty: all)', size: 20 });
    const button = el('button', { type: 'submit', id: 'reset-button' }, 'Reset offsets');
    const result = el('p', { id: 'reset-result' });
    const form = el('form', { class: 'row', id: 'reset-form' }, el('label', {}, 'To ', to), when,
      topic, button, result);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = { to: to.value };
      if (to.value === 'timestamp') body.timestamp = when.value ? new Date(when.value).getTime() : 0;
      if (topic.value) body.topic = topic.value;
      try {
        const r = await api('POST', `/api/groups/${enc(id)}/offsets`, body);
        result.className = 'muted';
        result.textContent = 'moved: ' + r.offsets.map((o) =>
          `${o.topic}/${o.partition} -> ${o.offset}`).join(', ');
        onDone();
      } catch (e) {
        result.className = 'error';
        result.textContent = e.message;
      }
    });
    return { form, button };
  }

  async function detail(main, id) {
    main.append(el('p', {}, el('a', { href: '#/groups' }, 'Consumer groups'), ' / ', id));
    const head = el('h1', { id: 'group-title' });
    const lag = el('span', { id: 'group-lag' });
    const chart = el('div', { class: 'card', id: 'group-chart' });
    const members = el('tbody', { id: 'members-body' });
    const offsets = el('tbody', { id: 'offsets-body' });
    const msg = el('p', { class: 'error' });
    main.append(head, el('p', {}, 'Total lag: ', lag), msg, chart,
      el('div', { class: 'card' }, el('h2', {}, 'Members'), el('table', { id: 'members' },
        el('thead', {}, el('tr', {}, ['Member', 'Client', 'Host', 'Assignment']
          .map((h) => el('th', {}, h)))), members)),
      el('div', { class: 'card' }, el('h2', {}, 'Offsets and lag'), el('table', { id: 'offsets' },
        el('thead', {}, el('tr', {}, el('th', {}, 'Topic'), el('th', {}, 'Partition'),
          ['Start', 'End', 'Committed', 'Lag'].map((h) => el('th', { class: 'num' }, h)),
          el('th', {}, 'Member'))), offsets)));
    let reset = null;
    const s = Sluice.session();
    if (s && s.role === 'admin') {
      reset = resetForm(id, refresh);
      main.append(el('div', { class: 'card' }, el('h2', {}, 'Reset offsets'),
        el('p', { class: 'muted' }, 'Only while the group has no members: stop its consumers.'),
        reset.form));
    }
    async function refresh() {
      let d;
      try {
        d = await api('GET', '/api/groups/' + enc(id));
        msg.textContent = '';
      } catch (e) {
        msg.textContent = e.message;
        return;
      }
      head.replaceChildren(id + ' ', Sluice.badge(d.state));
      lag.textContent = fmt.num(d.lag);
      lag.dataset.lag = d.lag === null ? '' : String(d.lag);
      chart.replaceChildren(lagChart(d.history));
      members.replaceChildren(...(d.members.length ? d.members.map((m) => el('tr', {},
        el('td', {}, m.member_id), el('td', {}, m.client_id), el('td', {}, m.host),
        el('td', {}, m.assignment.map((a) => `${a.topic}/${a.partition}`).join(', '))))
        : [el('tr', {}, el('td', { colspan: 4, class: 'muted' }, 'No members.'))]));
      offsets.replaceChildren(...d.offsets.map((o) => el('tr', {},
        el('td', {}, el('a', { href: '#/topics/' + enc(o.topic) }, o.topic)),
        el('td', {}, o.partition), el('td', { class: 'num' }, fmt.num(o.start)),
        el('td', { class: 'num' }, fmt.num(o.end)), el('td', { class: 'num' }, fmt.num(o.committed)),
        el('td', { class: 'num lag' }, fmt.num(o.lag)), el('td', { class: 'muted' }, o.member || '-'))));
      if (reset) reset.button.disabled = d.members.length > 0;
    }
    Sluice.every(2000, refresh);
  }

  Sluice.page('groups', {
    title: 'Consumer groups',
    render(main, params) { return params[0] ? detail(main, params[0]) : list(main); },
  });
})();
