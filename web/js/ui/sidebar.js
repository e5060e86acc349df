// sidebar.js — the left column: menu, search, connection state and the
// chat list.  The list is kept in place and reordered as messages arrive;
// search shows chats, people, public chats and messages.

import { h, clear, icon, iconButton, avatar, fmtListDate, debounce, plural } from '../dom.js';
import { errorText } from '../api.js';
import { openMenu } from './menu.js';
import { previewText, snippet, isService } from './format.js';
import { newGroupModal, newChannelModal, newMessageModal, settingsModal } from './modals.js';

const CONN_TEXT = { connecting: 'Connecting…', updating: 'Updating…', online: '' };

export class Sidebar {
  constructor(ctx) {
    this.ctx = ctx;
    this.rows = new Map();
    this.query = '';
    this.searchSeq = 0;

    const { store } = ctx;
    this.search = h('input', { type: 'search', id: 'search', class: 'search-input', placeholder: 'Search',
      'aria-label': 'Search chats, people and messages', autocomplete: 'off' });
    this.connEl = h('div', { class: 'conn', id: 'conn-status', role: 'status', 'aria-live': 'polite' });
    this.list = h('ul', { class: 'chat-list', id: 'chat-list', 'aria-label': 'Chats' });
    this.results = h('div', { class: 'search-results', id: 'search-results', hidden: true });
    this.empty = h('div', { class: 'list-empty', hidden: true },
      h('p', { text: 'No chats yet.' }),
      h('p', { class: 'muted', text: 'Find people by their @username in the search above, or start a group or a channel.' }));
    const menuBtn = iconButton('menu', 'Menu', (ev) => this.openMainMenu(ev.currentTarget), 'menu-btn');
    menuBtn.id = 'main-menu';
    const fab = h('button', { type: 'button', class: 'fab', id: 'compose', 'aria-label': 'New chat', title: 'New chat',
      onclick: (ev) => this.openComposeMenu(ev.currentTarget) }, icon('compose'));

    this.el = h('aside', { class: 'sidebar', 'aria-label': 'Chats' },
      h('header', { class: 'sidebar-head' }, menuBtn,
        h('div', { class: 'search-box' }, icon('search', 'search-icon'), this.search)),
      this.connEl,
      h('nav', { class: 'chat-scroll', 'aria-label': 'Chat list' }, this.list, this.empty, this.results),
      fab);

    this.search.addEventListener('input', () => this.onSearch());
    this.search.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && this.search.value) { ev.preventDefault(); this.search.value = ''; this.onSearch(); }
      if (ev.key === 'ArrowDown') {
        ev.preventDefault();
        const first = (this.query ? this.results : this.list).querySelector('a, button');
        first?.focus();
      }
    });
    this.list.addEventListener('keydown', (ev) => this.onListKey(ev));
    this.runSearch = debounce(() => this.searchRemote(), 300);

    store.addEventListener('chats', () => this.render());
    store.addEventListener('typing', (ev) => this.renderRow(ev.detail.id));
    ctx.sync.addEventListener('state', (ev) => this.setConn(ev.detail));
    this.setConn(ctx.sync.state);
    this.render();
  }

  setConn(state) {
    this.connEl.textContent = '';
    if (CONN_TEXT[state]) this.connEl.append(h('span', { class: 'spinner', 'aria-hidden': 'true' }), CONN_TEXT[state]);
    this.connEl.hidden = !CONN_TEXT[state];
  }

  openMainMenu(btn) {
    const ctx = this.ctx;
    openMenu(btn, [
      { label: 'New message', icon: 'person', onClick: () => newMessageModal(ctx) },
      { label: 'New group', icon: 'group', onClick: () => newGroupModal(ctx) },
      { label: 'New channel', icon: 'channel', onClick: () => newChannelModal(ctx) },
      { label: 'Saved Messages', icon: 'pin', onClick: () => ctx.openUser(ctx.store.me) },
      { label: 'Settings and devices', icon: 'devices', onClick: () => settingsModal(ctx) },
      { label: 'Log out', icon: 'logout', danger: true, onClick: () => ctx.logout() },
    ], 'Main menu');
  }

  openComposeMenu(btn) {
    const ctx = this.ctx;
    openMenu(btn, [
      { label: 'New message', icon: 'person', onClick: () => newMessageModal(ctx) },
      { label: 'New group', icon: 'group', onClick: () => newGroupModal(ctx) },
      { label: 'New channel', icon: 'channel', onClick: () => newChannelModal(ctx) },
    ], 'New chat');
  }

  /* Up/Down move between chats; Home/End jump. */
  onListKey(ev) {
    const rows = [...this.list.querySelectorAll('.chat-row')];
    const i = rows.indexOf(document.activeElement);
    if (i < 0) return;
    let j = -1;
    if (ev.key === 'ArrowDown') j = Math.min(rows.length - 1, i + 1);
    else if (ev.key === 'ArrowUp') { if (i === 0) { ev.preventDefault(); this.search.focus(); return; } j = i - 1; }
    else if (ev.key === 'Home') j = 0;
    else if (ev.key === 'End') j = rows.length - 1;
    if (j >= 0) { ev.preventDefault(); rows[j].focus(); }
  }

  // --- the chat list ------------------------------------------------------

  render() {
    const { store } = this.ctx;
    const chats = store.sortedChats();
    const keep = new Set();
    let prev = null;
    for (const cs of chats) {
      keep.add(cs.id);
      let li = this.rows.get(cs.id);
      if (!li) {
        li = h('li', { class: 'chat-item' });
        this.rows.set(cs.id, li);
      }
      this.fillRow(li, cs);
      const want = prev ? prev.nextSibling : this.list.firstChild;
      if (want !== li) this.list.insertBefore(li, want);
      prev = li;
    }
    for (const [id, li] of this.rows) if (!keep.has(id)) { li.remove(); this.rows.delete(id); }
    this.empty.hidden = chats.length > 0 || !store.dialogsLoaded || !!this.query;
    const n = store.totalUnread();
    document.title = n ? `(${n}) Parley` : 'Parley';
  }

  renderRow(id) {
    const li = this.rows.get(id);
    const cs = this.ctx.store.chats.get(id);
    if (li && cs) this.fillRow(li, cs);
  }

  fillRow(li, cs) {
    const { store } = this.ctx;
    const name = store.title(cs);
    let a = li.firstChild;
    if (!a) {
      a = h('a', { class: 'chat-row', href: '/#/c/' + cs.id, dataset: { id: cs.id } });
      a.addEventListener('click', (ev) => {
        if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
        ev.preventDefault();
        this.ctx.openChat(cs.id);
      });
      li.append(a);
    }
    clear(a);
    const active = store.openId === cs.id;
    if (active) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    const m = cs.last;
    const pend = cs.pending[cs.pending.length - 1];
    const typing = store.typingText(cs);
    let preview, status = null;
    if (typing) {
      preview = h('span', { class: 'typing', text: typing });
    } else if (pend) {
      preview = h('span', { text: snippet(pend.text, 120) });
      status = pend.state === 'failed' ? icon('error', 'status failed') : icon('clock', 'status');
    } else if (m) {
      const out = store.isOut(cs, m);
      const sender = isService(m) || cs.chat.type === 'private' || cs.chat.type === 'channel' ? null
        : (out ? 'You' : store.userName(m.from));
      preview = h('span', {}, sender ? h('span', { class: 'preview-sender', text: sender + ': ' }) : null, previewText(store, cs, m));
      if (out && cs.chat.type !== 'channel' && !isService(m)) {
        const read = cs.chat.type === 'private' && (m.message_id <= cs.readOut || store.isSelf(cs));
        status = icon(read ? 'checks' : 'check', 'status' + (read ? ' read' : ''));
      }
    } else {
      preview = h('span', { class: 'muted', text: cs.chat.type === 'channel' ? 'Channel' : cs.chat.type === 'group' ? 'Group' : '' });
    }
    const kindIcon = cs.chat.type === 'channel' ? icon('channel', 'kind') : cs.chat.type === 'group' ? icon('group', 'kind') : null;
    const badge = cs.unread > 0 ? h('span', { class: 'badge', 'aria-label': plural(cs.unread, 'unread message', 'unread messages'),
      text: cs.unread > 999 ? '999+' : String(cs.unread) }) : null;
    a.append(
      avatar(cs.id, name, 'md', store.isSelf(cs) ? 'saved' : null),
      h('span', { class: 'chat-main' },
        h('span', { class: 'chat-top' },
          h('span', { class: 'chat-title' }, kindIcon, h('span', { class: 'name', text: name })),
          status, h('time', { class: 'chat-date', text: fmtListDate(pend ? pend.date : cs.date) })),
        h('span', { class: 'chat-bottom' }, h('span', { class: 'preview' }, preview), badge)));
    a.setAttribute('aria-label', `${name}${cs.unread ? ', ' + plural(cs.unread, 'unread message', 'unread messages') : ''}`);
  }

  markActive() {
    for (const [id, li] of this.rows) {
      const a = li.firstChild;
      if (!a) continue;
      if (id === this.ctx.store.openId) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
  }

  // --- search -------------------------------------------------------------

  onSearch() {
    this.query = this.search.value.trim();
    const on = !!this.query;
    this.list.hidden = on;
    this.results.hidden = !on;
    this.empty.hidden = true;
    if (!on) { this.runSearch.cancel(); clear(this.results); this.render(); return; }
    this.renderResults(null);
    this.runSearch();
  }

  renderResults(remote) {
    const { store } = this.ctx;
    const q = this.query.toLowerCase().replace(/^@/, '');
    clear(this.results);
    const local = store.sortedChats().filter((cs) => store.title(cs).toLowerCase().includes(q) ||
      (cs.chat.username || '').toLowerCase().includes(q));
    const section = (title, items) => {
      if (!items.length) return;
      this.results.append(h('h3', { class: 'results-title', text: title }), h('ul', { class: 'results' }, items));
    };
    section('Chats', local.map((cs) => this.resultRow(cs.id, store.title(cs), cs.chat.username ? '@' + cs.chat.username : '',
      () => this.ctx.openChat(cs.id), store.isSelf(cs) ? 'saved' : null)));
    if (!remote) {
      this.results.append(h('p', { class: 'muted searching', text: 'Searching…' }));
      return;
    }
    const known = new Set(local.map((cs) => cs.id));
    const people = remote.people.filter((x) => !known.has(x.id));
    section('People and public chats', people.map((x) => this.resultRow(x.id, x.name, x.sub, x.open)));
    section('Messages', remote.messages.map((m) => this.messageRow(m)));
    if (remote.error) this.results.append(h('p', { class: 'form-error', text: remote.error }));
    if (!local.length && !people.length && !remote.messages.length && !remote.error) {
      this.results.append(h('p', { class: 'muted searching', text: 'Nothing found' }));
    }
  }

  resultRow(id, name, sub, open, kind) {
    return h('li', {}, h('button', { type: 'button', class: 'result-row', onclick: open },
      avatar(id, name, 'sm', kind), h('span', { class: 'result-main' },
        h('span', { class: 'name', text: name }), sub ? h('span', { class: 'muted', text: sub }) : null)));
  }

  messageRow(m) {
    const { store } = this.ctx;
    const cs = store.mergeChat(m.chat);
    const name = store.title(cs);
    const text = h('span', { class: 'preview' });
    highlight(text, snippet(m.text ?? m.caption ?? '', 140), this.query);
    return h('li', {}, h('button', { type: 'button', class: 'result-row message-result', dataset: { chat: cs.id, id: m.message_id },
      onclick: () => this.ctx.openChat(cs.id, m.message_id) },
    avatar(cs.id, name, 'sm'), h('span', { class: 'result-main' },
      h('span', { class: 'chat-top' }, h('span', { class: 'name', text: name }), h('time', { class: 'chat-date', text: fmtListDate(m.date) })),
      text)));
  }

  async searchRemote() {
    const { api } = this.ctx;
    const q = this.query;
    const seq = ++this.searchSeq;
    const out = { people: [], messages: [], error: '' };
    const uname = q.replace(/^@/, '');
    const jobs = [];
    if (/^[a-z0-9_]{5,32}$/i.test(uname)) {
      jobs.push(api.call('getUser', { username: uname }).then((u) => {
        out.people.push({ id: u.id, name: u.first_name, sub: '@' + u.username, open: () => this.ctx.openUser(u) });
      }, () => {}));
      jobs.push(api.call('getChat', { chat_id: '@' + uname }).then((c) => {
        if (c.type === 'private') return;
        out.people.push({ id: c.id, name: c.title, sub: '@' + c.username + ' · ' + (c.type === 'channel'
          ? plural(c.member_count || 0, 'subscriber', 'subscribers') : plural(c.member_count || 0, 'member', 'members')),
        open: () => this.ctx.openPublic(c) });
      }, () => {}));
    }
    if (/[\p{L}\p{N}]/u.test(q)) {
      jobs.push(api.call('searchMessages', { query: q, limit: 30 }).then((list) => { out.messages = list; },
        (e) => { if (e.code !== 'QUERY_EMPTY') out.error = errorText(e); }));
    }
    await Promise.all(jobs);
    if (seq !== this.searchSeq || q !== this.query) return;
    this.renderResults(out);
  }

  clearSearch() {
    if (!this.search.value) return;
    this.search.value = '';
    this.onSearch();
  }
}

/* Appends text with the query's words marked (as text nodes inside <mark>). */
function highlight(el, text, query) {
  const words = query.toLowerCase().split(/\s+/).filter((w) => w.length > 1);
  if (!words.length) { el.append(text); return; }
  const lower = text.toLowerCase();
  let i = 0;
  while (i < text.length) {
    let best = -1, len = 0;
    for (const w of words) {
      const j = lower.indexOf(w, i);
      if (j >= 0 && (best < 0 || j < best)) { best = j; len = w.length; }
    }
    if (best < 0) { el.append(text.slice(i)); break; }
    if (best > i) el.append(text.slice(i, best));
    el.append(h('mark', { text: text.slice(best, best + len) }));
    i = best + len;
  }
}
