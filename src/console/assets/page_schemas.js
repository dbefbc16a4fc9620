'use strict';
/* page_schemas.js: the Schemas page. #/schemas lists the registry's subjects (versions, latest
 * id and type, compatibility level); #/schemas/<subject> shows every version, a line diff
 * between two of them, the level (settable) and a form that checks a new schema against the
 * subject and registers it when it passes. Reads and writes /api/schemas. */
(function () {
  const { el, api } = Sluice;
  if (!document.querySelector('link[href="/assets/ops.css"]'))
    document.head.appendChild(el('link', { rel: 'stylesheet', href: '/assets/ops.css' }));

  const enc = encodeURIComponent;
  const LEVELS = ['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL',
    'FULL_TRANSITIVE', 'NONE'];
  const isAdmin = () => (Sluice.session() || {}).role === 'admin';

  async function renderList(main) {
    const box = el('div', { class: 'card', id: 'subjects' }, el('p', { class: 'muted' }, 'Loading...'));
    main.append(el('h1', {}, 'Schemas'), box);
    try {
      const r = await api('GET', '/api/schemas');
      box.replaceChildren(el('p', {}, 'Global compatibility: ', el('strong', { id: 'global-level' }, r.compatibility)),
        r.subjects.length ? Sluice.table(['Subject', 'Versions', 'Latest id', 'Type', 'Compatibility'],
          r.subjects.map((s) => el('tr', { 'data-subject': s.subject },
            el('td', {}, el('a', { href: '#/schemas/' + enc(s.subject) }, s.subject)),
            el('td', {}, s.versions.join(', ')), el('td', {}, s.latest_id), el('td', {}, s.schemaType),
            el('td', {}, s.compatibility.level + (s.compatibility.source === 'global' ? ' (global)' : '')))))
          : el('p', { class: 'muted' }, 'No subjects yet.'));
    } catch (e) {
      box.replaceChildren(el('p', { class: 'error' }, e.message));
    }
  }

  function diffView(lines) {
    return el('pre', { class: 'code diff', id: 'schema-diff' }, lines.map(([op, text]) =>
      el('span', { class: op === '+' ? 'add' : op === '-' ? 'del' : 'same' }, op + ' ' + text)));
  }

  async function renderSubject(main, subject) {
    const msg = el('p', { class: 'error' });
    main.append(el('h1', {}, el('a', { href: '#/schemas' }, 'Schemas'), ' / ', subject), msg);
    let s;
    try {
      s = await api('GET', '/api/schemas/' + enc(subject));
    } catch (e) {
      msg.textContent = e.message;
      return;
    }
    const versions = s.versions.map((v) => v.version);
    const level = el('select', { id: 'level' }, LEVELS.map((l) =>
      el('option', { value: l, selected: l === s.compatibility.level }, l)));
    const levelOut = el('span', { class: 'muted', id: 'level-result' },
      s.compatibility.source === 'global' ? '(the global level)' : '(set on this subject)');
    const save = el('button', { class: 'secondary', disabled: !isAdmin(), onclick: async () => {
      try {
        const r = await api('PUT', `/api/schemas/${enc(subject)}/config`, { compatibility: level.value });
        levelOut.textContent = 'Set to ' + r.compatibility;
      } catch (e) { levelOut.textContent = e.message; }
    } }, 'Set level');

    const pick = el('select', { id: 'version' }, versions.map((v) =>
      el('option', { value: v, selected: v === versions[versions.length - 1] }, 'version ' + v)));
    const text = el('pre', { class: 'code', id: 'schema-text' });
    const meta = el('p', { class: 'muted', id: 'schema-meta' });
    const show = () => {
      const v = s.versions.find((x) => String(x.version) === pick.value);
      if (!v) return;
      text.textContent = v.pretty;
      meta.textContent = `id ${v.id}, ${v.schemaType}`;
    };
    pick.addEventListener('change', show);

    const from = el('select', { id: 'diff-from' }, versions.map((v, i) =>
      el('option', { value: v, selected: i === Math.max(0, versions.length - 2) }, v)));
    const to = el('select', { id: 'diff-to' }, versions.map((v, i) =>
      el('option', { value: v, selected: i === versions.length - 1 }, v)));
    const diffBox = el('div', {});
    const doDiff = async () => {
      try {
        const d = await api('GET', `/api/schemas/${enc(subject)}/diff?from=${from.value}&to=${to.value}`);
        diffBox.replaceChildren(diffView(d.lines));
      } catch (e) { diffBox.replaceChildren(el('p', { class: 'error' }, e.message)); }
    };
    from.addEventListener('change', doDiff);
    to.addEventListener('change', doDiff);

    const latest = s.versions[s.versions.length - 1];
    const schema = el('textarea', { class: 'code', id: 'new-schema', rows: 10 }, latest ? latest.pretty : '');
    const type = el('select', { id: 'new-type' }, ['AVRO', 'JSON', 'PROTOBUF'].map((t) =>
      el('option', { value: t, selected: latest && latest.schemaType === t }, t)));
    const out = el('div', { id: 'register-result' });
    const submit = (checkOnly) => async () => {
      out.replaceChildren(el('p', { class: 'muted' }, 'Checking...'));
      try {
        const r = await api('POST', `/api/schemas/${enc(subject)}/versions`,
          { schema: schema.value, schemaType: type.value, check_only: checkOnly });
        const c = r.compatibility;
        out.replaceChildren(el('div', {},
          el('p', { class: c.is_compatible ? 'ok' : 'error', id: 'check-verdict' },
            (c.is_compatible ? 'Compatible' : 'Not compatible') + ` under ${c.level}`),
          c.messages.length ? el('ul', {}, c.messages.map((m) => el('li', {}, m))) : null,
          r.registered ? el('p', { class: 'ok', id: 'registered' },
            `Registered as version ${r.registered.version} (id ${r.registered.id}).`) : null));
      } catch (e) {
        out.replaceChildren(el('p', { class: 'error' }, e.message));
      }
    };
    const adminOnly = !isAdmin();
    main.append(...[
      el('div', { class: 'card' }, el('div', { class: 'row' }, 'Compatibility', level, save, levelOut)),
      el('div', { class: 'card' }, el('h2', {}, 'Versions'), el('div', { class: 'row' }, pick, meta), text),
      versions.length > 1 ? el('div', { class: 'card' }, el('h2', {}, 'Diff'),
        el('div', { class: 'row' }, 'from', from, 'to', to), diffBox) : null,
      el('div', { class: 'card' }, el('h2', {}, 'New version'), schema,
        el('div', { class: 'row' }, type,
          el('button', { class: 'secondary', id: 'check', disabled: adminOnly, onclick: submit(true) }, 'Check'),
          el('button', { id: 'register', disabled: adminOnly, onclick: submit(false) }, 'Register')),
        out)].filter(Boolean));
    show();
    if (versions.length > 1) doDiff();
  }

  Sluice.page('schemas', {
    title: 'Schemas',
    render(main, params) {
      return params[0] ? renderSubject(main, params[0]) : renderList(main);
    },
  });
})();
