// auth.js — the sign-in screen: log in or create an account.  On success
// calls done({token, session_id, user}).

import { h, clear, icon } from '../dom.js';
import { errorText } from '../api.js';

/* A short label for this device's session, e.g. "Web: Chrome on Linux". */
export function deviceLabel() {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome'
    : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac OS X/.test(ua) ? 'macOS'
    : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : 'unknown OS';
  return `Web: ${browser} on ${os}`;
}

export function renderAuth(root, api, done, notice) {
  let mode = 'login';
  clear(root);
  root.className = 'app auth-screen';

  const err = h('p', { class: 'form-error', role: 'alert', id: 'auth-error' });
  const username = h('input', { id: 'auth-username', name: 'username', autocomplete: 'username', required: true,
    autocapitalize: 'none', spellcheck: 'false', maxlength: 32, placeholder: 'Username' });
  const password = h('input', { id: 'auth-password', name: 'password', type: 'password', required: true,
    autocomplete: 'current-password', maxlength: 256, placeholder: 'Password' });
  const display = h('input', { id: 'auth-name', name: 'display_name', autocomplete: 'name', maxlength: 64,
    placeholder: 'Your name (optional)' });
  const nameRow = h('label', { class: 'field', hidden: true }, h('span', { text: 'Display name' }), display);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-wide', id: 'auth-submit', text: 'Log in' });
  const hint = h('p', { class: 'hint', id: 'auth-hint' });
  const tabLogin = h('button', { type: 'button', role: 'tab', class: 'tab', id: 'tab-login', 'aria-selected': 'true', text: 'Log in' });
  const tabRegister = h('button', { type: 'button', role: 'tab', class: 'tab', id: 'tab-register', 'aria-selected': 'false', text: 'Create account' });

  function setMode(m) {
    mode = m;
    tabLogin.setAttribute('aria-selected', String(m === 'login'));
    tabRegister.setAttribute('aria-selected', String(m === 'register'));
    nameRow.hidden = m === 'login';
    submit.textContent = m === 'login' ? 'Log in' : 'Create account';
    password.autocomplete = m === 'login' ? 'current-password' : 'new-password';
    hint.textContent = m === 'login' ? '' : 'Usernames are 5–32 letters, digits or _. Passwords have at least 8 characters.';
    err.textContent = '';
  }
  tabLogin.addEventListener('click', () => setMode('login'));
  tabRegister.addEventListener('click', () => setMode('register'));

  const form = h('form', { class: 'auth-form', novalidate: true },
    h('label', { class: 'field' }, h('span', { text: 'Username' }), username),
    h('label', { class: 'field' }, h('span', { text: 'Password' }), password),
    nameRow, hint, err, submit);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const u = username.value.trim().replace(/^@/, '');
    if (!u || !password.value) { err.textContent = 'Enter a username and a password.'; return; }
    submit.disabled = true;
    const params = { username: u, password: password.value, device: deviceLabel() };
    if (mode === 'register' && display.value.trim()) params.display_name = display.value.trim();
    try {
      const r = await api.call(mode === 'login' ? 'login' : 'register', params);
      done(r);
    } catch (e) {
      err.textContent = errorText(e);
      submit.disabled = false;
      password.focus();
    }
  });

  root.append(h('div', { class: 'auth-card' },
    h('div', { class: 'auth-logo' }, icon('send')),
    h('h1', { text: 'Parley' }),
    h('p', { class: 'auth-sub', text: notice || 'Messages that stay on your own server.' }),
    h('div', { class: 'tabs', role: 'tablist' }, tabLogin, tabRegister),
    form));
  username.focus();
}
