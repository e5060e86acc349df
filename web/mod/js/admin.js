// admin.js — platform admins: roles (getRoles, grantRole, revokeRole) and
// trusted flaggers with their accuracy (getFlaggers, registerFlagger; the
// new flagger's API key is shown once, here, and never again).

import { h, clear, field, toast } from './dom.js';
import { errorText } from './api.js';
import { ROLES, ROLE_NAMES, userName, when, empty } from './format.js';

export function adminView(app, root) {
  const rolesBody = h('tbody');
  const rolesErr = h('p', { class: 'form-error', role: 'alert' });
  const gUser = h('input', { id: 'grant-username', required: true, autocapitalize: 'none', spellcheck: 'false', placeholder: 'username' });
  const gRole = h('select', { id: 'grant-role' }, ROLES.map((r) => h('option', { value: r }, ROLE_NAMES[r])));
  const grant = h('form', { id: 'grant-form', class: 'toolbar', novalidate: true },
    field('Username', gUser), field('Role', gRole), h('button', { type: 'submit', class: 'primary' }, 'Grant role'));

  const flBody = h('tbody');
  const flErr = h('p', { class: 'form-error', role: 'alert' });
  const fName = h('input', { id: 'flagger-name', required: true, maxlength: 64, placeholder: 'Organisation' });
  const fEmail = h('input', { id: 'flagger-email', type: 'email', required: true, placeholder: 'contact@example.org' });
  const register = h('form', { id: 'flagger-form', class: 'toolbar', novalidate: true },
    field('Name', fName), field('Email', fEmail), h('button', { type: 'submit', class: 'primary' }, 'Register flagger'));
  const keyBox = h('div', { id: 'flagger-key-box' });

  root.append(
    h('div', { class: 'view-head' }, h('h1', null, 'Administration')),
    h('section', { class: 'card', 'aria-labelledby': 'roles-h' },
      h('h2', { id: 'roles-h' }, 'Platform roles'),
      h('p', { class: 'muted small' }, 'Moderators work the queue and export statements; senior moderators also decide appeals; admins also manage roles and trusted flaggers.'),
      h('div', { class: 'table-wrap' }, h('table', { id: 'roles', class: 'list' },
        h('thead', null, h('tr', null, ['User', 'Role', 'Granted', 'By', ''].map((c) => h('th', { scope: 'col' }, c)))), rolesBody)),
      rolesErr, h('h3', null, 'Grant a role'), grant),
    h('section', { class: 'card', 'aria-labelledby': 'flaggers-h' },
      h('h2', { id: 'flaggers-h' }, 'Trusted flaggers (DSA Art. 22)'),
      h('p', { class: 'muted small' }, 'Accuracy is the share of a flagger’s decided notices that were acted on.'),
      h('div', { class: 'table-wrap' }, h('table', { id: 'flaggers', class: 'list' },
        h('thead', null, h('tr', null, ['Name', 'Email', 'Registered', 'Status', 'Notices', 'Upheld', 'Dismissed', 'Accuracy']
          .map((c) => h('th', { scope: 'col' }, c)))), flBody)),
      flErr, h('h3', null, 'Register a flagger'), register, keyBox));

  async function loadRoles() {
    try {
      const roles = await app.api.call('getRoles');
      if (!root.isConnected) return;
      const names = new Map(roles.map((r) => [r.user.id, r.user]));
      clear(rolesBody);
      if (!roles.length) rolesBody.append(h('tr', null, h('td', { colspan: 5 }, empty('Nobody has a role.'))));
      for (const r of roles) {
        const self = r.user.id === app.me?.id;
        let armed = null;
        const revoke = h('button', { type: 'button', class: 'danger small-btn', dataset: { userId: r.user.id } }, self ? 'Revoke (yourself)' : 'Revoke');
        revoke.addEventListener('click', async () => {
          if (!armed) { // a second click confirms
            revoke.textContent = 'Confirm revoke';
            armed = setTimeout(() => { armed = null; revoke.textContent = self ? 'Revoke (yourself)' : 'Revoke'; }, 5000);
            return;
          }
          clearTimeout(armed);
          revoke.disabled = true;
          try {
            await app.api.call('revokeRole', { user_id: r.user.id });
            toast(`${userName(r.user)} has no platform role now`, 'ok');
            loadRoles();
          } catch (e) {
            rolesErr.textContent = errorText(e);
            revoke.disabled = false;
          }
        });
        const by = r.granted_by ? (names.has(r.granted_by) ? userName(names.get(r.granted_by)) : `user id ${r.granted_by}`) : 'operator (command line)';
        rolesBody.append(h('tr', { dataset: { userId: r.user.id } }, h('td', null, userName(r.user)), h('td', null, ROLE_NAMES[r.role] || r.role),
          h('td', null, when(r.granted_at)), h('td', null, by), h('td', null, revoke)));
      }
    } catch (e) {
      if (root.isConnected) rolesErr.textContent = errorText(e);
    }
  }

  async function loadFlaggers() {
    try {
      const fl = await app.api.call('getFlaggers');
      if (!root.isConnected) return;
      clear(flBody);
      if (!fl.length) flBody.append(h('tr', null, h('td', { colspan: 8 }, empty('No trusted flaggers yet.'))));
      for (const f of fl) {
        flBody.append(h('tr', { dataset: { flaggerId: f.flagger_id } }, h('td', null, f.name), h('td', null, f.email),
          h('td', null, when(f.registered_at)), h('td', null, f.active ? 'active' : 'revoked'),
          h('td', { class: 'num' }, String(f.notices)), h('td', { class: 'num' }, String(f.upheld)),
          h('td', { class: 'num' }, String(f.dismissed)),
          h('td', { class: 'num accuracy' }, f.accuracy == null ? 'n/a' : `${Math.round(f.accuracy * 100)}%`)));
      }
    } catch (e) {
      if (root.isConnected) flErr.textContent = errorText(e);
    }
  }

  grant.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    rolesErr.textContent = '';
    const username = gUser.value.trim().replace(/^@/, '');
    if (!username) { rolesErr.textContent = 'Enter a username.'; gUser.focus(); return; }
    try {
      const r = await app.api.call('grantRole', { username, role: gRole.value });
      toast(`${userName(r.user)} is now ${ROLE_NAMES[r.role] || r.role}`, 'ok');
      gUser.value = '';
      loadRoles();
    } catch (e) {
      rolesErr.textContent = errorText(e);
    }
  });

  register.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    flErr.textContent = '';
    clear(keyBox);
    const name = fName.value.trim(), email = fEmail.value.trim();
    if (!name || !email.includes('@')) { flErr.textContent = 'Give the organisation’s name and email address.'; (name ? fEmail : fName).focus(); return; }
    try {
      const r = await app.api.call('registerFlagger', { name, email });
      fName.value = '';
      fEmail.value = '';
      const keyInput = h('input', { id: 'flagger-key', readonly: true, value: r.api_key, class: 'mono', 'aria-label': 'API key', size: 72 });
      const copy = h('button', { type: 'button', onclick: async () => {
        keyInput.select();
        try { await navigator.clipboard.writeText(keyInput.value); toast('Copied', 'ok'); } catch { toast('Press Ctrl+C to copy the selected key'); }
      } }, 'Copy');
      const done = h('button', { type: 'button', onclick: () => { clear(keyBox); fName.focus(); } }, 'I have stored it');
      keyBox.append(h('div', { class: 'key-box', role: 'alert' },
        h('h3', null, `API key of ${r.flagger.name}`),
        h('p', null, 'Shown only now: the server keeps only its hash. Hand it to the organisation over a secure channel; ' +
          'they send notices with it (flagger_key, or the header Authorization: Flagger <key>).'),
        h('div', { class: 'row' }, keyInput, copy, done)));
      keyInput.focus();
      keyInput.select();
      loadFlaggers();
    } catch (e) {
      flErr.textContent = errorText(e);
    }
  });

  loadRoles();
  loadFlaggers();
  return null;
}
