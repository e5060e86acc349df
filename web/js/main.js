// main.js — Parley's web app: boots, keeps the session in localStorage,
// routes (/ the chat list, /#/c/ID a chat, /+CODE an invite link) and wires
// the screens to the store and to live sync.
//
//   api.js      HTTP calls            store.js   the model, applies updates
//   sync.js     WebSocket + catch-up  ui/*.js    screens and dialogs

import { Api } from './api.js';
import { Store } from './store.js';
import { Sync } from './sync.js';
import { h, clear, toast } from './dom.js';
import { renderAuth } from './ui/auth.js';
import { Sidebar } from './ui/sidebar.js';
import { ChatView } from './ui/chat.js';
import { InfoPanel } from './ui/info.js';
import { joinModal } from './ui/modals.js';
import { closeMenu } from './ui/menu.js';

const SESSION_KEY = 'parley.session';
const INVITE_KEY = 'parley.invite';
const root = document.getElementById('app');
const api = new Api();
let app = null;

function loadSession() {
  try {
    const s = JSON.parse(localStorage.getItem(SESSION_KEY) || 'null');
    return s && s.token && s.user ? s : null;
  } catch { return null; }
}

function saveSession(s) { localStorage.setItem(SESSION_KEY, JSON.stringify(s)); }

/* An invite link opened in the browser: /+CODE.  Kept until signed in. */
function takeInviteRoute() {
  const m = /^\/\+([A-Za-z0-9_-]{4,64})\/?$/.exec(location.pathname);
  if (m) {
    sessionStorage.setItem(INVITE_KEY, m[1]);
    history.replaceState(null, '', '/');
  }
}

/* A chat is addressed in the fragment, /#/c/ID or /#/c/ID/MSG: parleyd
 * serves the app's page for "/" and invite links only. */
function chatRoute() {
  const m = /^#\/c\/(-?\d+)(?:\/(\d+))?\/?$/.exec(location.hash);
  return m ? { id: Number(m[1]), msg: m[2] ? Number(m[2]) : 0 } : null;
}

class App {
  constructor(session) {
    this.session = session;
    api.token = session.token;
    api.onUnauthorized = () => this.ended();
    this.store = new Store(api, session.user);
    this.sync = new Sync(api, this.store, session.token, session.user.id);
    this.sync.onSessionEnded = () => this.ended();
    this.chat = null;
    this.info = null;
    const ctx = this.ctx = {
      api, store: this.store, sync: this.sync,
      openChat: (id, msgId) => this.openChat(id, msgId),
      openUser: (u) => this.openUser(u),
      openPublic: (c) => this.openPublic(c),
      closeChat: () => this.closeChat(),
      showInfo: (id) => this.showInfo(id),
      closeInfo: () => this.closeInfo(),
      logout: () => this.logout(),
      saveMe: (me) => { this.session.user = me; saveSession(this.session); },
    };

    clear(root);
    root.className = 'app layout';
    this.sidebar = new Sidebar(ctx);
    this.pane = h('main', { class: 'pane', id: 'pane' });
    this.placeholder = h('div', { class: 'pane-empty' },
      h('div', { class: 'pane-empty-card' }, h('p', { text: 'Select a chat to start messaging' })));
    this.pane.append(this.placeholder);
    this.infoSlot = h('div', { class: 'info-slot' });
    root.append(this.sidebar.el, this.pane, this.infoSlot);

    this.onPop = () => this.route();
    window.addEventListener('popstate', this.onPop);
    this.onKey = (ev) => this.globalKey(ev);
    document.addEventListener('keydown', this.onKey);
    // For tests and debugging: the sync state and a way to drop the socket.
    window.parley = { store: this.store, sync: this.sync, drop: () => this.sync.drop('test') };

    this.sync.start();
    this.route(true);
    const invite = sessionStorage.getItem(INVITE_KEY);
    if (invite) {
      sessionStorage.removeItem(INVITE_KEY);
      joinModal(ctx, invite);
    }
  }

  route(first) {
    const r = chatRoute();
    if (r) this.showChat(r.id, r.msg);
    else this.hideChat();
    if (first && !r && (location.pathname !== '/' || location.hash)) history.replaceState(null, '', '/');
  }

  openChat(id, msgId) {
    this.sidebar.clearSearch();
    const path = '/#/c/' + id + (msgId ? '/' + msgId : '');
    if (this.chat && this.chat.id === id && !msgId) { this.chat.focusComposer(); return; }
    if (chatRoute()) history.replaceState(null, '', path); else history.pushState(null, '', path);
    this.showChat(id, msgId);
  }

  openUser(u) {
    const cs = this.store.mergeChat({ id: u.id, type: 'private', first_name: u.first_name, username: u.username });
    if (!cs.listed && cs.last) cs.listed = true;
    this.openChat(u.id);
  }

  openPublic(c) {
    const cs = this.store.mergeChat({ id: c.id, type: c.type, title: c.title, username: c.username });
    cs.full = c;
    this.openChat(c.id);
  }

  showChat(id, msgId) {
    if (this.chat && this.chat.id === id && !msgId) return;
    if (this.chat) this.chat.destroy();
    if (this.info && this.info.id !== id) this.closeInfo();
    this.store.openId = id;
    this.placeholder.remove();
    this.chat = new ChatView(this.ctx, id, msgId);
    this.pane.append(this.chat.el);
    root.classList.add('chat-open');
    this.sidebar.markActive();
    // On touch screens focusing the composer would pop up the keyboard.
    if (!msgId && matchMedia('(pointer: fine)').matches) this.chat.focusComposer();
  }

  hideChat() {
    if (this.chat) { this.chat.destroy(); this.chat = null; }
    this.closeInfo();
    this.store.openId = null;
    if (!this.placeholder.isConnected) this.pane.append(this.placeholder);
    root.classList.remove('chat-open');
    this.sidebar.markActive();
  }

  closeChat() {
    if (chatRoute()) history.pushState(null, '', '/');
    this.hideChat();
    const row = document.querySelector('.chat-row[aria-current]') || document.querySelector('.chat-row');
    row?.focus();
  }

  showInfo(id) {
    if (this.info && this.info.id === id) { this.closeInfo(); return; }
    this.closeInfo();
    this.info = new InfoPanel(this.ctx, id);
    this.infoSlot.append(this.info.el);
    root.classList.add('info-open');
    this.info.el.focus();
  }

  closeInfo() {
    if (!this.info) return;
    this.info.destroy();
    this.info = null;
    root.classList.remove('info-open');
    this.chat?.focusComposer();
  }

  /* Global keys: Ctrl/Cmd+K search; Esc closes the info panel, then the chat. */
  globalKey(ev) {
    if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === 'k') {
      ev.preventDefault();
      this.sidebar.search.focus();
      this.sidebar.search.select();
      return;
    }
    if (ev.key !== 'Escape' || ev.defaultPrevented || document.querySelector('dialog[open]')) return;
    if (this.info) { ev.preventDefault(); this.closeInfo(); return; }
    const t = ev.target;
    if (this.chat && (!t.closest || !t.closest('.sidebar')) && !(t.id === 'composer' && (this.chat.editing || this.chat.replyTo))) {
      ev.preventDefault();
      this.closeChat();
    }
  }

  teardown() {
    closeMenu();
    this.sync.stop();
    if (this.chat) this.chat.destroy();
    this.closeInfo();
    window.removeEventListener('popstate', this.onPop);
    document.removeEventListener('keydown', this.onKey);
    for (const d of document.querySelectorAll('dialog')) d.remove();
    delete window.parley;
  }

  async logout() {
    try { await api.call('logOut'); } catch { /* the token is dropped either way */ }
    this.sync.forget();
    signOut('You have logged out.');
  }

  ended() {
    if (app !== this) return;
    signOut('Your session has ended. Log in again.');
  }
}

function signOut(notice) {
  if (app) { app.teardown(); app = null; }
  localStorage.removeItem(SESSION_KEY);
  api.token = null;
  history.replaceState(null, '', '/');
  showAuth(notice);
}

function showAuth(notice) {
  document.body.dataset.conn = 'offline';
  document.title = 'Parley';
  renderAuth(root, api, (r) => {
    const s = { token: r.token, session_id: r.session_id, user: r.user };
    saveSession(s);
    start(s);
  }, notice);
}

function start(session) {
  app = new App(session);
}

// Another tab logged out or in: follow it.
window.addEventListener('storage', (ev) => {
  if (ev.key !== SESSION_KEY) return;
  const s = loadSession();
  if (!s && app) signOut('You have logged out in another tab.');
  else if (s && (!app || app.session.token !== s.token)) { if (app) app.teardown(); start(s); }
});

takeInviteRoute();
const session = loadSession();
if (session) start(session);
else {
  showAuth(sessionStorage.getItem(INVITE_KEY) ? 'Log in or create an account to join the chat.' : undefined);
}
window.addEventListener('unhandledrejection', (ev) => {
  console.warn('unhandled', ev.reason);
  if (ev.reason && ev.reason.code === 'FLOOD_WAIT') toast('Too many requests: wait a moment', 'error');
});
