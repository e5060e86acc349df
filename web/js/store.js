// store.js — the app's model of the signed-in user's world: chats (the
// dialog list), the loaded messages of chats that were opened, messages
// being sent, typing and presence.  Screens read it and listen to its
// events; sync.js feeds it updates in pts order.  Every update is applied
// idempotently (a message already present is not added again, a read
// position never moves back), so a replayed update changes nothing.
//
// Events (CustomEvent detail):
//   chats                   the chat list changed (rows or order)
//   chat      {id}          a chat's title, members, pin, status changed
//   messages  {id, added, removed, changed, reset}   loaded messages changed
//   typing    {id}          who is typing in chat id changed
//   presence  {id}          user id came online / went offline

import { ApiError, NetworkError, errorText } from './api.js';

const DIALOG_PAGE = 100;
const DIALOG_PAGES_MAX = 20;
const HISTORY_PAGE = 50;
const TYPING_MS = 6000;

export class Store extends EventTarget {
  constructor(api, me) {
    super();
    this.api = api;
    this.me = me;                 // User
    this.chats = new Map();       // chat id -> chat state (see chatState)
    this.names = new Map();       // user id -> display name, learnt from messages and members
    this.presence = new Map();    // user id -> {status, last_seen}
    this.tick = 0;                // orders chats whose last messages share a second
    this.online = false;          // set by sync: connected and caught up
    this.openId = null;           // the chat on screen
    this.dialogsLoaded = false;
    this.tmpSeq = 0;
    this.sentIds = new Set();     // "chatId:msgId" posted from this device (channel posts carry no sender)
    this.viewQueue = new Map();   // chat id -> Set of message ids to count as viewed
    this.viewTimer = 0;
    this.dirtyChats = false;
    this.dirtyMsgs = new Map();
    this.onFollowChat = null;     // sync's hook: a large chat to follow (id)
    this.onUnfollowChat = null;
    this.onRefreshState = null;   // sync's hook: membership in large chats may have changed
  }

  // --- chat states --------------------------------------------------------

  chatState(id) {
    id = Number(id);
    let cs = this.chats.get(id);
    if (!cs) {
      cs = {
        id, chat: { id, type: id < 0 ? 'group' : 'private' }, full: null,
        unread: 0, readIn: 0, readOut: 0, last: null, date: 0, tick: 0,
        listed: false, pinnedId: 0, pinned: null, msgs: null, typing: new Map(),
        deleted: new Set(), edits: new Map(), pending: [], pumping: false, left: false,
        recent: [],   // the last live messages, for a history page that was in flight when they came
      };
      this.chats.set(id, cs);
    }
    return cs;
  }

  mergeChat(chat) {
    const cs = this.chatState(chat.id);
    cs.chat = { ...cs.chat, ...chat };
    if (chat.type === 'private' && chat.first_name) this.names.set(Number(chat.id), chat.first_name);
    return cs;
  }

  isSelf(cs) { return cs.chat.type === 'private' && cs.id === this.me.id; }

  title(cs) {
    if (!cs) return '';
    if (this.isSelf(cs)) return 'Saved Messages';
    const c = cs.chat;
    return c.type === 'private' ? (c.first_name || c.username || 'User ' + c.id) : (c.title || 'Chat ' + c.id);
  }

  userName(u) {
    if (!u) return 'Someone';
    if (u.id === this.me.id) return 'You';
    return u.first_name || this.names.get(u.id) || u.username || 'User ' + u.id;
  }

  /* Chats for the list, newest first. */
  sortedChats() {
    return [...this.chats.values()].filter((c) => c.listed && !c.left)
      .sort((a, b) => (b.date - a.date) || (b.tick - a.tick) || (b.id - a.id));
  }

  totalUnread() {
    let n = 0;
    for (const c of this.chats.values()) if (c.listed && !c.left) n += c.unread > 0 ? 1 : 0;
    return n;
  }

  // --- events, batched per microtask so a catch-up of a thousand updates
  // redraws once --------------------------------------------------------

  emitChats() {
    if (this.dirtyChats) return;
    this.dirtyChats = true;
    queueMicrotask(() => { this.dirtyChats = false; this.dispatchEvent(new CustomEvent('chats')); });
  }

  emitChat(id) { this.dispatchEvent(new CustomEvent('chat', { detail: { id } })); }

  emitMsgs(id, kind, msgId) {
    let d = this.dirtyMsgs.get(id);
    if (!d) {
      d = { id, added: new Set(), removed: new Set(), changed: new Set(), reset: false, pending: false };
      this.dirtyMsgs.set(id, d);
      queueMicrotask(() => {
        this.dirtyMsgs.delete(id);
        this.dispatchEvent(new CustomEvent('messages', { detail: d }));
      });
    }
    if (kind === 'reset') d.reset = true;
    else if (kind === 'pending') d.pending = true;
    else d[kind].add(msgId);
  }

  // --- dialogs ------------------------------------------------------------

  /* Loads the whole dialog list (pages of 100) and merges it in.  Called at
   * start and after a reload; live updates applied meanwhile are kept. */
  async loadDialogs() {
    let offset = null, pages = 0, n = 0;
    const seen = new Set();
    for (;;) {
      const params = { limit: DIALOG_PAGE };
      if (offset) Object.assign(params, offset);
      const page = await this.api.call('getDialogs', params);
      for (const d of page) {
        this.mergeDialog(d, n--);
        seen.add(Number(d.chat.id));
      }
      if (page.length < DIALOG_PAGE || ++pages >= DIALOG_PAGES_MAX) break;
      const lastD = page[page.length - 1];
      offset = { offset_date: lastD.last_message?.date || 0, offset_chat_id: lastD.chat.id };
    }
    // Chats the server no longer lists (left elsewhere while away).
    if (pages < DIALOG_PAGES_MAX) {
      for (const cs of this.chats.values()) {
        if (cs.listed && !seen.has(cs.id) && (cs.last || cs.chat.type !== 'private')) cs.listed = false;
      }
    }
    this.dialogsLoaded = true;
    this.emitChats();
  }

  mergeDialog(d, order) {
    const cs = this.mergeChat(d.chat);
    const m = d.last_message;
    cs.listed = true;
    cs.left = false;
    if (m && m.message_id && cs.deleted.has(m.message_id)) return;
    if (!cs.last || !m || m.message_id >= cs.last.message_id) {
      if (m) {
        cs.last = m;
        this.learn(m);
      }
      cs.date = m ? m.date : cs.date;
      if (!cs.tick || cs.tick < 0) cs.tick = order;
      // A snapshot taken before our own readHistory landed is behind on
      // what was read: its count would bring back a badge already cleared.
      if ((d.read_inbox_max_id || 0) >= cs.readIn) cs.unread = d.unread_count;
      else if (cs.last && cs.readIn >= cs.last.message_id) cs.unread = 0;
    }
    cs.readIn = Math.max(cs.readIn, d.read_inbox_max_id || 0);
    cs.readOut = Math.max(cs.readOut, d.read_outbox_max_id || 0);
    if (cs.msgs) this.emitMsgs(cs.id, 'pending');
  }

  /* Remembers the names of senders and members mentioned by a message. */
  learn(m) {
    if (m.from && m.from.first_name) this.names.set(m.from.id, m.from.first_name);
    for (const u of m.new_chat_members || []) if (u.first_name) this.names.set(u.id, u.first_name);
  }

  isOut(cs, m) {
    if (cs.chat.type === 'channel') return this.sentIds.has(cs.id + ':' + m.message_id);
    return !!m.from && m.from.id === this.me.id;
  }

  /* A message became the chat's newest: list order, preview, unread count. */
  bumpLast(cs, m, live) {
    if (cs.last && m.message_id <= cs.last.message_id) {
      if (m.message_id === cs.last.message_id) cs.last = m;
      return false;
    }
    cs.last = m;
    cs.date = Math.max(cs.date, m.date);
    cs.tick = ++this.tick;
    cs.listed = true;
    if (live && !this.isOut(cs, m) && m.message_id > cs.readIn && !(m.from && m.from.id === this.me.id)) cs.unread++;
    return true;
  }

  // --- updates (from sync, in pts order) ----------------------------------

  apply(u) {
    switch (u.type) {
    case 'new_message': return this.onNewMessage(u.message);
    case 'edit_message': return this.onEditMessage(u.message);
    case 'delete_messages': return this.onDelete(Number(u.chat_id), u.message_ids || []);
    case 'read_inbox': return this.onReadInbox(u);
    case 'read_outbox': return this.onReadOutbox(u);
    case 'chat_member': return this.onChatMember(u);
    case 'chat': return this.onChatChanged(u.chat);
    case 'chat_large': this.onFollowChat?.(Number(u.chat_id), Number(u.pts)); return;
    case 'redacted': return; // the message it carried was deleted; a delete_messages follows
    default: return;
    }
  }

  onNewMessage(m) {
    const cs = this.mergeChat(m.chat);
    if (cs.deleted.has(m.message_id)) return;
    this.learn(m);
    // A message I sent that was still pending here: it arrived, adopt it.
    const own = (m.from && m.from.id === this.me.id) || cs.chat.type === 'channel';
    if (own && cs.pending.length) {
      const i = cs.pending.findIndex((p) => p.text === m.text && (p.state === 'sending' || p.state === 'queued'));
      if (i >= 0) {
        const p = cs.pending[i];
        cs.pending.splice(i, 1);
        p.adopted = m.message_id;
        this.sentIds.add(cs.id + ':' + m.message_id);
        this.emitMsgs(cs.id, 'pending');
      }
    }
    if (cs.left && m.new_chat_members?.some((x) => x.id === this.me.id)) cs.left = false;
    this.bumpLast(cs, m, true);
    this.remember(cs, m);
    this.insert(cs, [m], true);
    // Service messages about members or the title: refresh what is shown.
    if (m.new_chat_members || m.left_chat_member || m.new_chat_title) {
      if (m.new_chat_title) cs.chat.title = m.new_chat_title;
      if (cs.full) this.loadFull(cs.id).catch(() => {});
      this.emitChat(cs.id);
    }
    if (m.from) this.stopTyping(cs, m.from.id);
    this.emitChats();
  }

  onEditMessage(m) {
    const cs = this.mergeChat(m.chat);
    if (cs.deleted.has(m.message_id)) return;
    const old = cs.msgs?.byId.get(m.message_id) || cs.edits.get(m.message_id);
    if (old && (old.edit_date || 0) > (m.edit_date || 0)) return;
    const merged = this.keepNested(old, m);
    cs.edits.set(m.message_id, merged);
    if (cs.msgs?.byId.has(m.message_id)) {
      cs.msgs.byId.set(m.message_id, merged);
      this.emitMsgs(cs.id, 'changed', m.message_id);
    }
    if (cs.last?.message_id === m.message_id) { cs.last = merged; this.emitChats(); }
    if (cs.pinnedId === m.message_id) { cs.pinned = merged; this.emitChat(cs.id); }
  }

  /* Updates carry replies as reply_to_message_id only; keep the quoted
   * message a history page gave us. */
  keepNested(old, m) {
    if (old && old.reply_to_message && !m.reply_to_message) return { ...m, reply_to_message: old.reply_to_message };
    return m;
  }

  onDelete(chatId, ids) {
    const cs = this.chatState(chatId);
    let lastGone = false;
    for (const raw of ids) {
      const id = Number(raw);
      cs.deleted.add(id);
      cs.edits.delete(id);
      const m = cs.msgs?.byId.get(id);
      if (m) {
        if (!this.isOut(cs, m) && id > cs.readIn && cs.unread > 0) cs.unread--;
        cs.msgs.byId.delete(id);
        const i = cs.msgs.ids.indexOf(id);
        if (i >= 0) cs.msgs.ids.splice(i, 1);
        this.emitMsgs(cs.id, 'removed', id);
      }
      if (cs.last?.message_id === id) lastGone = true;
      if (cs.pinnedId === id) { cs.pinnedId = 0; cs.pinned = null; this.emitChat(cs.id); }
    }
    if (lastGone) {
      const ids2 = cs.msgs?.ids;
      if (cs.msgs && cs.msgs.newest && ids2.length) cs.last = cs.msgs.byId.get(ids2[ids2.length - 1]);
      else this.refreshLast(cs);
    }
    this.emitChats();
  }

  /* The newest message of a chat whose messages are not loaded. */
  async refreshLast(cs) {
    try {
      const page = await this.api.call('getHistory', { chat_id: cs.id, limit: 1 });
      const m = page[0] || null;
      if (!cs.last || !m || cs.deleted.has(cs.last.message_id) || m.message_id >= cs.last.message_id) cs.last = m;
      this.emitChats();
    } catch { /* the list keeps the old preview */ }
  }

  onReadInbox(u) {
    const cs = this.chatState(u.chat_id);
    if (u.max_id > cs.readIn) {
      cs.readIn = u.max_id;
      cs.unread = u.unread_count;
      this.emitChats();
    }
  }

  onReadOutbox(u) {
    const cs = this.chatState(u.chat_id);
    if (u.max_id > cs.readOut) {
      cs.readOut = u.max_id;
      this.emitMsgs(cs.id, 'pending'); // ticks change
      this.emitChats();
    }
  }

  onChatMember(u) {
    const cs = this.chatState(u.chat_id);
    if (u.user) this.names.set(u.user.id, u.user.first_name);
    if (u.user && u.user.id === this.me.id) {
      if (u.status === 'left' || u.status === 'kicked') {
        cs.left = true;
        cs.listed = false;
        if (cs.full) cs.full.my_status = u.status;
        this.onUnfollowChat?.(cs.id);
      } else {
        cs.left = false;
        cs.listed = true;
        if (cs.full) cs.full.my_status = u.status;
        // A channel or large group has its own sequence: learn where it stands.
        this.onRefreshState?.();
        this.loadFull(cs.id).catch(() => {});
      }
      this.emitChat(cs.id);
      this.emitChats();
    } else if (cs.full) {
      this.loadFull(cs.id).catch(() => {});
    }
  }

  onChatChanged(chat) {
    const cs = this.mergeChat(chat);
    if (cs.full) {
      for (const k of ['title', 'description', 'member_count', 'permissions', 'username']) {
        if (k in chat) cs.full[k] = chat[k];
      }
    }
    if ('pinned_message_id' in chat) {
      cs.pinnedId = Number(chat.pinned_message_id) || 0;
      cs.pinned = null;
      if (cs.pinnedId) this.loadPinned(cs);
    }
    this.emitChat(cs.id);
    this.emitChats();
  }

  // --- ephemeral events ---------------------------------------------------

  onTyping(ev) {
    const cs = this.chats.get(Number(ev.chat_id));
    if (!cs || ev.user_id === this.me.id) return;
    if (ev.action === 'cancel') return this.stopTyping(cs, ev.user_id);
    const prev = cs.typing.get(ev.user_id);
    if (prev) clearTimeout(prev.timer);
    const timer = setTimeout(() => this.stopTyping(cs, ev.user_id), TYPING_MS);
    cs.typing.set(ev.user_id, { action: ev.action, timer });
    this.dispatchEvent(new CustomEvent('typing', { detail: { id: cs.id } }));
  }

  stopTyping(cs, uid) {
    const t = cs.typing.get(uid);
    if (!t) return;
    clearTimeout(t.timer);
    cs.typing.delete(uid);
    this.dispatchEvent(new CustomEvent('typing', { detail: { id: cs.id } }));
  }

  /* "Bob is typing…", "Bob and Ann are typing…", or "". */
  typingText(cs) {
    if (!cs || !cs.typing.size) return '';
    const ids = [...cs.typing.keys()];
    if (cs.chat.type === 'private') return 'typing…';
    const names = ids.map((id) => this.names.get(id) || 'Someone');
    if (names.length === 1) return `${names[0]} is typing…`;
    if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
    return `${names.length} people are typing…`;
  }

  onPresence(ev) {
    this.presence.set(ev.user_id, { status: ev.status, last_seen: ev.last_seen || 0 });
    this.dispatchEvent(new CustomEvent('presence', { detail: { id: ev.user_id } }));
  }

  onViews(ev) {
    const cs = this.chats.get(Number(ev.chat_id));
    if (!cs || !cs.msgs) return;
    for (const [id, n] of Object.entries(ev.views || {})) this.setViews(cs, Number(id), n);
  }

  setViews(cs, id, n) {
    const m = cs.msgs?.byId.get(id);
    if (m && (m.views || 0) < n) {
      cs.msgs.byId.set(id, { ...m, views: n });
      this.emitMsgs(cs.id, 'changed', id);
    }
  }

  // --- messages of a chat -------------------------------------------------

  /* Adds messages to a loaded chat, in id order; live ones only when the
   * loaded window reaches the newest message. */
  insert(cs, list, live) {
    const ml = cs.msgs;
    if (!ml || (live && !ml.newest)) return;
    for (let m of list) {
      const id = m.message_id;
      if (cs.deleted.has(id)) continue;
      const edited = cs.edits.get(id);
      if (edited && (edited.edit_date || 0) >= (m.edit_date || 0)) m = this.keepNested(m, edited);
      if (ml.byId.has(id)) {
        const old = ml.byId.get(id);
        if ((m.edit_date || 0) > (old.edit_date || 0) || (!old.reply_to_message && m.reply_to_message) ||
            (m.views || 0) > (old.views || 0)) {
          ml.byId.set(id, this.keepNested(old, m));
          this.emitMsgs(cs.id, 'changed', id);
        }
        continue;
      }
      this.learn(m);
      ml.byId.set(id, m);
      // Binary search: ids are kept ascending.
      let lo = 0, hi = ml.ids.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (ml.ids[mid] < id) lo = mid + 1; else hi = mid; }
      ml.ids.splice(lo, 0, id);
      this.emitMsgs(cs.id, 'added', id);
    }
  }

  remember(cs, m) {
    cs.recent.push(m);
    if (cs.recent.length > 100) cs.recent.shift();
  }

  /* A page that reaches the newest message may have been read before live
   * messages that arrived while it was on its way: add those. */
  addRecent(cs) {
    const ml = cs.msgs;
    if (!ml || !ml.newest) return;
    const top = ml.ids.length ? ml.ids[ml.ids.length - 1] : 0;
    this.insert(cs, cs.recent.filter((m) => m.message_id > top), false);
  }

  /* The newest page of a chat, once per session (later updates keep it current). */
  async openHistory(chatId) {
    const cs = this.chatState(chatId);
    if (cs.msgs && cs.msgs.newest) return cs;
    await this.resetHistory(cs);
    return cs;
  }

  async resetHistory(cs) {
    const page = await this.api.call('getHistory', { chat_id: cs.id, limit: HISTORY_PAGE });
    cs.msgs = { ids: [], byId: new Map(), oldest: page.length < HISTORY_PAGE, newest: true, loading: false };
    this.insert(cs, page, false);
    this.addRecent(cs);
    if (page[0]) this.bumpLast(cs, page[0], false);
    this.emitMsgs(cs.id, 'reset');
    return cs;
  }

  /* One page older than the oldest loaded; false when there is none. */
  async loadOlder(chatId) {
    const cs = this.chatState(chatId);
    const ml = cs.msgs;
    if (!ml || ml.oldest || ml.loading || !ml.ids.length) return false;
    ml.loading = true;
    try {
      const page = await this.api.call('getHistory', { chat_id: cs.id, offset_id: ml.ids[0], limit: HISTORY_PAGE });
      if (cs.msgs !== ml) return false;
      if (page.length < HISTORY_PAGE) ml.oldest = true;
      this.insert(cs, page, false);
      return page.length > 0;
    } finally { ml.loading = false; }
  }

  /* One page newer than the newest loaded, when the window is not at the end. */
  async loadNewer(chatId) {
    const cs = this.chatState(chatId);
    const ml = cs.msgs;
    if (!ml || ml.newest || ml.loading || !ml.ids.length) return false;
    ml.loading = true;
    try {
      const page = await this.api.call('getHistory', {
        chat_id: cs.id, offset_id: ml.ids[ml.ids.length - 1], direction: 'newer', limit: HISTORY_PAGE });
      if (cs.msgs !== ml) return false;
      if (page.length < HISTORY_PAGE) ml.newest = true;
      this.insert(cs, page, false);
      this.addRecent(cs);
      return page.length > 0;
    } finally { ml.loading = false; }
  }

  /* Loads the messages around msgId (for a search result or a quoted reply). */
  async jumpTo(chatId, msgId) {
    const cs = this.chatState(chatId);
    if (cs.msgs?.byId.has(msgId)) return cs;
    const [older, newer] = await Promise.all([
      this.api.call('getHistory', { chat_id: cs.id, offset_id: msgId + 1, limit: 25 }),
      this.api.call('getHistory', { chat_id: cs.id, offset_id: msgId, direction: 'newer', limit: 25 }),
    ]);
    cs.msgs = { ids: [], byId: new Map(), oldest: older.length < 25, newest: newer.length < 25, loading: false };
    this.insert(cs, older, false);
    this.insert(cs, newer, false);
    this.addRecent(cs);
    this.emitMsgs(cs.id, 'reset');
    return cs;
  }

  /* A message by id: loaded, or fetched alone. */
  async fetchMessage(chatId, msgId) {
    const cs = this.chatState(chatId);
    const known = cs.msgs?.byId.get(msgId) || cs.edits.get(msgId);
    if (known) return known;
    if (cs.deleted.has(msgId)) return null;
    const page = await this.api.call('getHistory', { chat_id: cs.id, offset_id: msgId + 1, limit: 1 });
    return page[0] && page[0].message_id === msgId ? page[0] : null;
  }

  async loadPinned(cs) {
    const id = cs.pinnedId;
    try {
      const m = await this.fetchMessage(cs.id, id);
      if (cs.pinnedId === id) { cs.pinned = m; this.emitChat(cs.id); }
    } catch { /* shown without a preview */ }
  }

  /* getChat: description, member count, my status, pinned message. */
  async loadFull(chatId) {
    const cs = this.chatState(chatId);
    const full = await this.api.call('getChat', { chat_id: cs.id });
    cs.full = full;
    this.mergeChat({ id: full.id, type: full.type, title: full.title, username: full.username, first_name: full.first_name });
    cs.pinned = full.pinned_message || null;
    cs.pinnedId = cs.pinned ? cs.pinned.message_id : 0;
    if (full.my_status === 'left' || full.my_status === 'kicked') cs.left = cs.listed ? cs.left : true;
    this.emitChat(cs.id);
    return full;
  }

  async loadPresence(userId) {
    try {
      const u = await this.api.call('getUser', { user_id: userId });
      if (u.status) this.presence.set(u.id, { status: u.status, last_seen: u.last_seen || 0 });
      this.names.set(u.id, u.first_name);
      this.dispatchEvent(new CustomEvent('presence', { detail: { id: u.id } }));
      return u;
    } catch { return null; }
  }

  // --- actions ------------------------------------------------------------

  /* Queues a message: shown at once as pending, sent in order per chat. */
  send(chatId, text, replyTo) {
    const cs = this.chatState(chatId);
    const p = { tmp: 't' + (++this.tmpSeq), text, reply_to: replyTo || 0, date: Math.floor(Date.now() / 1000),
      state: 'queued', error: '' };
    cs.pending.push(p);
    cs.listed = true;
    this.emitMsgs(cs.id, 'pending');
    this.emitChats();
    this.pump(cs);
    return p;
  }

  /* A message this device sent outside the text queue (a photo or file):
   * shown at once; its update, before or after, changes nothing. */
  addSent(chatId, m) {
    const cs = this.chatState(chatId);
    this.sentIds.add(cs.id + ':' + m.message_id);
    if (cs.deleted.has(m.message_id)) return;
    cs.listed = true;
    this.bumpLast(cs, m, false);
    this.remember(cs, m);
    this.insert(cs, [m], true);
    this.emitChats();
  }

  retry(chatId, tmp) {
    const cs = this.chatState(chatId);
    const p = cs.pending.find((x) => x.tmp === tmp);
    if (!p) return;
    p.state = 'queued';
    p.error = '';
    this.emitMsgs(cs.id, 'pending');
    this.pump(cs);
  }

  discard(chatId, tmp) {
    const cs = this.chatState(chatId);
    cs.pending = cs.pending.filter((x) => x.tmp !== tmp);
    this.emitMsgs(cs.id, 'pending');
  }

  /* Sends a chat's queued messages one at a time, so they keep their order.
   * A message whose request got no answer is sent again only after the next
   * catch-up, and only if that catch-up did not bring it (it then arrived
   * and was adopted): nothing is lost and nothing is sent twice. */
  async pump(cs) {
    if (cs.pumping) return;
    cs.pumping = true;
    try {
      for (;;) {
        const p = cs.pending.find((x) => x.state === 'queued' || x.state === 'sending');
        if (!p || !this.online) break;
        p.state = 'sending';
        this.emitMsgs(cs.id, 'pending');
        const params = { chat_id: cs.id, text: p.text };
        if (p.reply_to) params.reply_to_message_id = p.reply_to;
        try {
          const m = await this.api.call('sendMessage', params);
          this.sentIds.add(cs.id + ':' + m.message_id);
          const i = cs.pending.indexOf(p);
          if (i >= 0) cs.pending.splice(i, 1);
          this.emitMsgs(cs.id, 'pending');
          if (!cs.deleted.has(m.message_id)) {
            this.bumpLast(cs, m, false);
            this.remember(cs, m);
            this.insert(cs, [m], true);
            this.emitChats();
          }
        } catch (e) {
          if (e instanceof NetworkError || (e instanceof ApiError && e.status >= 500)) {
            if (cs.pending.includes(p)) p.state = 'queued';
            this.emitMsgs(cs.id, 'pending');
            this.waitingRetry = true;
            break;
          }
          p.state = 'failed';
          p.error = errorText(e);
          this.emitMsgs(cs.id, 'pending');
        }
      }
    } finally { cs.pumping = false; }
  }

  /* Called by sync after every catch-up: the queued messages go out now. */
  pumpAll() {
    for (const cs of this.chats.values()) if (cs.pending.some((p) => p.state === 'queued')) this.pump(cs);
  }

  setOnline(on) {
    this.online = on;
    if (on) this.pumpAll();
  }

  async edit(chatId, msgId, text) {
    const m = await this.api.call('editMessageText', { chat_id: chatId, message_id: msgId, text });
    this.onEditMessage(m);
    return m;
  }

  async remove(chatId, ids, revoke) {
    await this.api.call('deleteMessages', { chat_id: chatId, message_ids: ids, revoke });
    this.onDelete(Number(chatId), ids);
  }

  /* Marks the chat read up to maxId (no-op when already read). */
  async markRead(chatId, maxId) {
    const cs = this.chatState(chatId);
    if (!maxId || maxId <= cs.readIn) return;
    const before = cs.readIn;
    cs.readIn = maxId;
    if (cs.last && maxId >= cs.last.message_id) cs.unread = 0;
    this.emitChats();
    try {
      const r = await this.api.call('readHistory', { chat_id: chatId, max_id: maxId });
      if (r.read_inbox_max_id >= cs.readIn) {
        cs.readIn = r.read_inbox_max_id;
        cs.unread = r.unread_count;
        this.emitChats();
      }
    } catch {
      if (cs.readIn === maxId) cs.readIn = before; // try again next time
    }
  }

  /* Channel posts seen on screen: counted in batches, once per message. */
  markViewed(chatId, msgId) {
    let set = this.viewQueue.get(chatId);
    if (!set) this.viewQueue.set(chatId, set = new Set());
    set.add(msgId);
    if (!this.viewTimer) this.viewTimer = setTimeout(() => this.flushViews(), 800);
  }

  async flushViews() {
    this.viewTimer = 0;
    const q = this.viewQueue;
    this.viewQueue = new Map();
    for (const [chatId, set] of q) {
      const ids = [...set].slice(0, 100);
      try {
        const counts = await this.api.call('viewMessages', { chat_id: chatId, message_ids: ids });
        const cs = this.chatState(chatId);
        ids.forEach((id, i) => this.setViews(cs, id, counts[i] || 0));
      } catch { /* views are best effort */ }
    }
  }

  /* After a reload answer from getDifference: start over from the server. */
  async reloadAll() {
    for (const cs of this.chats.values()) {
      cs.msgs = null;
      cs.last = null;
      cs.listed = false;
    }
    await this.loadDialogs();
    if (this.openId != null) {
      const cs = this.chatState(this.openId);
      await this.resetHistory(cs);
    }
  }
}
