'use strict';
/* page_users.js: the console's users (admins only): list, add or reset, delete. */
(function () {
  const { el } = Sluice;

  function render(main) {
    const list = el('div', {});
    const msg = el('span', { id: 'user-result' });
    const name = el('input', { id: 'user-name', placeholder: 'name' });
    const pw = el('input', { id: 'user-password', type: 'password', placeholder: 'password',
      autocomplete: 'new-password' });
    const role = el('select', { id: 'user-role' }, el('option', { value: 'viewer' }, 'viewer'),
      el('option', { value: 'admin' }, 'admin'));
    const load = async () => {
      const u = await Sluice.api('GET', '/api/users');
      list.replaceChildren(Sluice.table(['user', 'role', ''], u.users.map((x) =>
        el('tr', { 'data-user': x.name }, el('td', {}, x.name), el('td', {}, x.role),
          el('td', {}, el('button', { class: 'secondary', onclick: async () => {
            try { await Sluice.api('DELETE', '/api/users/' + encodeURIComponent(x.name)); }
            catch (e) { msg.textContent = e.message; }
            load();
          } }, 'Delete'))))));
    };
    const add = el('button', { id: 'user-add', onclick: async () => {
      msg.textContent = '';
      try {
        await Sluice.api('POST', '/api/users', { name: name.value, password: pw.value,
          role: role.value });
        msg.textContent = 'saved ' + name.value;
        pw.value = '';
        load();
      } catch (e) { msg.textContent = e.message; }
    } }, 'Add or reset');
    main.append(el('h1', {}, 'Users'), el('div', { class: 'card' }, list),
      el('div', { class: 'card' }, el('h2', {}, 'Add a user, or set a password and role'),
        el('div', { class: 'row' }, name, pw, role, add, msg)));
    load().catch((e) => list.replaceChildren(el('p', { class: 'error' }, e.message)));
  }

  Sluice.page('users', { title: 'Users', render, admin: true });
})();
