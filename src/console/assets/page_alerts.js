'use strict';
/* page_alerts.js: the alert rules with their state, the history of firings and resolutions,
 * and (for admins) the rules as JSON to edit (PUT /api/alerts/rules). */
(function () {
  const { el, fmt } = Sluice;

  function rulesTable(rules) {
    return Sluice.table(['rule', 'metric', 'target', 'condition', 'for', 'state', 'value', 'since'],
      rules.map((r) => el('tr', { class: 'rule', 'data-rule': r.name, 'data-state': r.state },
        el('td', {}, r.name), el('td', {}, r.metric), el('td', {}, r.target || '-'),
        el('td', {}, `${r.op} ${fmt.num(r.threshold)}`), el('td', {}, (r.for_ms / 1000) + ' s'),
        el('td', {}, Sluice.badge(r.state)), el('td', { class: 'num' }, fmt.num(r.value)),
        el('td', {}, r.since ? fmt.time(r.since) : '-'))));
  }

  function historyTable(hist) {
    if (!hist.length) return el('p', { class: 'muted', id: 'history' }, 'nothing has fired yet');
    return Sluice.table(['time', 'rule', 'state', 'value'], hist.slice().reverse().slice(0, 100)
      .map((h) => el('tr', { class: 'history', 'data-rule': h.rule, 'data-state': h.state },
        el('td', {}, fmt.time(h.t)), el('td', {}, h.rule), el('td', {}, Sluice.badge(h.state)),
        el('td', { class: 'num' }, fmt.num(h.value)))));
  }

  function editor(rules, onSaved) {
    const text = el('textarea', { id: 'rules-json', rows: 14, cols: 90, spellcheck: 'false' });
    text.value = JSON.stringify(rules.map((r) => ({ name: r.name, metric: r.metric,
      target: r.target, op: r.op, threshold: r.threshold, for_ms: r.for_ms })), null, 2);
    const msg = el('span', { id: 'rules-result' });
    const save = el('button', { id: 'rules-save', onclick: async () => {
      msg.textContent = '';
      msg.className = '';
      let body;
      try { body = JSON.parse(text.value); } catch (e) {
        msg.textContent = 'not JSON: ' + e.message; msg.className = 'error'; return;
      }
      try {
        await Sluice.api('PUT', '/api/alerts/rules', body);
        msg.textContent = 'saved';
        onSaved();
      } catch (e) { msg.textContent = e.message; msg.className = 'error'; }
    } }, 'Save rules');
    return el('div', { class: 'card' }, el('h2', {}, 'Edit rules'),
      el('p', { class: 'muted' }, 'metric: consumer_lag (target: a group), records_per_s or ' +
        'dlq_per_s (target: a topic), failed_dag_runs; op "<" or ">"; for_ms: how long the ' +
        'condition must hold.'), text, el('div', { class: 'row' }, save, msg));
  }

  function render(main) {
    const live = el('div', {}, el('p', { class: 'muted' }, 'Loading...'));
    const edit = el('div', {});
    main.append(el('h1', {}, 'Alerts'), live, edit);
    let first = true;
    const load = async () => {
      const a = await Sluice.api('GET', '/api/alerts');
      live.replaceChildren(
        el('div', { class: 'card' }, el('h2', {}, 'Rules'), rulesTable(a.rules),
          el('p', { class: 'muted' }, 'Notifications go to the log' +
            (a.webhook ? ' and to the webhook.' : '; no webhook is set (--webhook URL).'))),
        el('div', { class: 'card' }, el('h2', {}, 'History'), historyTable(a.history)));
      if (first && Sluice.session().role === 'admin') edit.replaceChildren(editor(a.rules, load));
      first = false;
    };
    Sluice.every(2000, () => load().catch((e) =>
      live.replaceChildren(el('p', { class: 'error' }, e.message))));
  }

  Sluice.page('alerts', { title: 'Alerts', render });
})();
