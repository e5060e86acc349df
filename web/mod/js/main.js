// main.js — the moderation console (served by parleyd at /mod): sign-in with
// the ordinary login API (the token kept under its own localStorage key,
// apart from the user app's), the role check, the header and the hash routes
// #/queue, #/case/N, #/appeals, #/statements and #/admin.  docs/moderation-console.md

import { Api, errorText } from './api.js';
import { h, clear, field, toast } from './dom.js';
import { ROLE_NAMES, roleRank, userName } from './format.js';
import { queueView } from './queue.js';
import { caseView } from './case.js';
import { appealsView } from './appeals.js';
import { statementsView } from './statements.js';
import { adminView } from './admin.js';

const KEY = 'parley.mod.session';
const main = document.getElementById('main');
const top = document.getElementById('top');

const app = {
  api: new Api(),
  me: null,
  role: null,            // moderator, senior_moderator or admin
  can(role) { return roleRank(this.role) >= roleRank(role); },
  setQueueCount(open, overdue) {
    const el = document.getElementById('nav-queue-count');
    if (!el) return;
    el.textContent = overdue ? `${open} · ${overdue} overdue` : String(open);
    el.classList.toggle('bad', overdue > 0);
  },
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
};

const VIEWS = [
  { re: /^#\/queue$/, nav: 'queue', title: 'Queue', view: (root) => queueView(app, root) },
  { re: /^#\/case\/(\d+)$/, nav: 'queue', title: 'Case', view: (root, m) => caseView(app, root, Number(m[1])) },
  { re: /^#\/appeals$/, nav: 'appeals', title: 'Appeals', need: 'senior_moderator', view: (root) => appealsView(app, root) },
  { re: /^#\/statements$/, nav: 'statements', title: 'Statements', view: (root) => statementsView(app, root) },
  { re: /^#\/admin$/, nav: 'admin', title: 'Admin', need: 'admin', view: (root) => adminView(app, root) },
];

function loadSession() {
  try { return JSON.parse(localStorage.getItem(KEY) || 'null'); } catch { return null; }
}
function saveSession(s) {
  if (s) localStorage.setItem(KEY, JSON.stringify(s));
  else localStorage.removeItem(KEY);
}

let cleanup = null;
let inConsole = false;

function leaveView() {
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
}

/* ---- signing in ------------------------------------------------------ */

function showLogin(message) {
  leaveView();
  inConsole = false;
  top.hidden = true;
  clear(top);
  document.title = 'Sign in · Parley moderation';
  const user = h('input', { id: 'login-username', name: 'username', autocomplete: 'username', required: true,
    autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const err = h('p', { id: 'login-error', class: 'form-error', role: 'alert' }, message || '');
  const submit = h('button', { id: 'login-submit', class: 'primary', type: 'submit' }, 'Sign in');
  const form = h('form', { id: 'login-form', class: 'card narrow', novalidate: true },
    h('h1', null, 'Parley moderation'),
    h('p', { class: 'muted' }, 'Sign in with your Parley account. The console is for accounts with a platform role: moderator, senior moderator or admin.'),
    field('Username', user), field('Password', pass), err, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const username = user.value.trim().replace(/^@/, '');
    if (!username || !pass.value) {
      err.textContent = 'Enter your username and password.';
      (username ? pass : user).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      app.api.token = null;
      const r = await app.api.call('login', { username, password: pass.value, device: 'Moderation console' });
      saveSession({ token: r.token, session_id: r.session_id, user: r.user });
      app.api.token = r.token;
      pass.value = '';
      await enter();
    } catch (e) {
      err.textContent = errorText(e);
      submit.disabled = false;
      submit.textContent = 'Sign in';
      pass.select();
      pass.focus();
    }
  });
  clear(main).append(h('div', { class: 'screen' }, form));
  user.focus();
}

function showNotModerator() {
  leaveView();
  inConsole = false;
  top.hidden = true;
  clear(top);
  document.title = 'Not a moderator · Parley moderation';
  const out = h('button', { id: 'notmod-signout', type: 'button', class: 'primary', onclick: signOut }, 'Sign out');
  clear(main).append(h('div', { class: 'screen' },
    h('section', { id: 'not-moderator', class: 'card narrow', role: 'alert', 'aria-labelledby': 'notmod-title' },
      h('h1', { id: 'notmod-title' }, 'Not a moderator'),
      h('p', null, 'You are signed in as ', h('strong', null, userName(app.me)),
        '. This account has no platform role, so the moderation API refuses it (403 ROLE_REQUIRED).'),
      h('p', { class: 'muted' }, 'The console is for the platform’s moderators. An operator grants roles on the server ' +
        '(parleyd admin grant-role USERNAME moderator), or an admin in this console.'),
      h('div', { class: 'row' }, out, h('a', { class: 'button', href: '/' }, 'Open Parley')))));
  out.focus();
}

function showFailure(e) {
  top.hidden = true;
  clear(main).append(h('div', { class: 'screen' },
    h('section', { class: 'card narrow', role: 'alert' }, h('h1', null, 'The console cannot start'),
      h('p', null, errorText(e)),
      h('div', { class: 'row' },
        h('button', { type: 'button', class: 'primary', onclick: () => enter() }, 'Try again'),
        h('button', { type: 'button', onclick: signOut }, 'Sign out')))));
}

async function signOut() {
  try { if (app.api.token) await app.api.call('logOut'); } catch { /* gone already */ }
  app.api.token = null;
  app.me = null;
  app.role = null;
  saveSession(null);
  showLogin();
}

/* Who is signed in, and may they moderate?  getMe names the role; the queue
 * call is the proof (the server answers 403 ROLE_REQUIRED otherwise). */
async function enter() {
  try {
    app.me = await app.api.call('getMe');
    app.role = app.me.platform_role || null;
    await app.api.call('getModerationQueue', { limit: 1 });
  } catch (e) {
    if (e.code === 'ROLE_REQUIRED') return showNotModerator();
    if (e.status === 401) return showLogin('Your session has ended. Sign in again.');
    if (e.code === 'ACCOUNT_SUSPENDED') { saveSession(null); app.api.token = null; return showLogin(errorText(e)); }
    return showFailure(e);
  }
  inConsole = true;
  renderTop();
  if (!location.hash || location.hash === '#' || location.hash === '#/') history.replaceState(null, '', '#/queue');
  route();
}

/* ---- the console ----------------------------------------------------- */

function renderTop() {
  const link = (nav, href, label, extra) => h('a', { href, id: 'nav-' + nav, class: 'nav-link', dataset: { nav } }, label, extra);
  clear(top).append(
    h('div', { class: 'brand' }, h('img', { src: '/favicon.svg', alt: '', width: 24, height: 24 }), 'Parley moderation'),
    h('nav', { 'aria-label': 'Console' },
      link('queue', '#/queue', 'Queue ', h('span', { id: 'nav-queue-count', class: 'count' })),
      app.can('senior_moderator') ? link('appeals', '#/appeals', 'Appeals') : null,
      link('statements', '#/statements', 'Statements'),
      app.can('admin') ? link('admin', '#/admin', 'Admin') : null),
    h('div', { class: 'who' },
      h('span', { id: 'who-name' }, app.me?.username ? '@' + app.me.username : userName(app.me)),
      h('span', { id: 'who-role', class: 'badge' }, ROLE_NAMES[app.role] || app.role),
      h('button', { id: 'signout', type: 'button', onclick: signOut }, 'Sign out')));
  top.hidden = false;
}

function route() {
  if (!inConsole) return;
  const hash = location.hash || '#/queue';
  let view = null, m = null;
  for (const v of VIEWS) if ((m = hash.match(v.re))) { view = v; break; }
  if (!view) { app.go('#/queue'); return; }
  leaveView();
  for (const a of top.querySelectorAll('.nav-link')) {
    if (a.dataset.nav === view.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${view.title} · Parley moderation`;
  clear(main);
  if (view.need && !app.can(view.need)) {
    main.append(h('section', { class: 'card', role: 'alert' }, h('h1', null, 'Not allowed'),
      h('p', null, `${view.title} needs the role ${ROLE_NAMES[view.need]}; you are ${ROLE_NAMES[app.role] || 'without a role'}.`)));
    return;
  }
  const root = h('div', { class: 'view view-' + view.nav });
  main.append(root);
  try {
    cleanup = view.view(root, m);
  } catch (e) {
    root.append(h('p', { class: 'form-error', role: 'alert' }, errorText(e)));
  }
}

app.api.onUnauthorized = () => {
  saveSession(null);
  app.api.token = null;
  showLogin('Your session has ended. Sign in again.');
};
app.api.onRoleRequired = async () => {
  if (!inConsole) return; // enter() shows the "not a moderator" screen itself
  // The role may have been taken away meanwhile.
  try {
    const me = await app.api.call('getMe');
    if (!me.platform_role) { app.me = me; app.role = null; showNotModerator(); return; }
    if (me.platform_role !== app.role) { app.me = me; app.role = me.platform_role; renderTop(); route(); }
  } catch { /* handled elsewhere */ }
  toast('That needs a higher platform role.', 'error');
};

window.addEventListener('hashchange', route);

const s = loadSession();
if (s?.token) {
  app.api.token = s.token;
  enter();
} else {
  showLogin();
}
