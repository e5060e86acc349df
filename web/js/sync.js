// sync.js — live updates over the WebSocket and catch-up after any gap,
// following the client rules of docs/sync.md:
//
//  * the user sequence's pts (and each large chat's pts) is kept in
//    localStorage per user, and every update is applied strictly in pts
//    order: pts <= stored is a duplicate and is dropped, stored + 1 is
//    applied, anything further waits while getDifference fills the gap;
//  * after every (re)connection, once the server says `ready` (here: the
//    answer to the `auth` call), getDifference / getChatDifference run until
//    `more` is false; pushes that arrive meanwhile wait in the same buffer;
//  * a `reload` answer reloads the dialog list and the open chat;
//  * a closed socket is reopened with exponential backoff (1 s .. 30 s,
//    with jitter); going offline closes it at once, coming back online
//    reconnects at once.
//
// States (this.state, mirrored on <body data-conn>): "connecting" (no
// socket), "updating" (connected, catching up), "online".

import { NetworkError } from './api.js';

const REPLAY_MAX = 3000;       // a stored pts further behind than this: reload instead of replaying
const HEARTBEAT_MS = 25000;    // a call on an idle socket; no answer in CALL_TIMEOUT_MS: reconnect
const CALL_TIMEOUT_MS = 10000;
const BACKOFF_MIN = 1000, BACKOFF_MAX = 30000;

export class Sync extends EventTarget {
  constructor(api, store, token, userId) {
    super();
    this.api = api;
    this.store = store;
    this.token = token;
    this.key = 'parley.sync.' + userId;
    this.user = { pts: -1, pending: new Map() };   // pts -1: not known yet
    this.chats = new Map();                          // chat id -> {pts, pending}
    this.ws = null;
    this.state = 'connecting';
    this.backoff = BACKOFF_MIN;
    this.retryTimer = 0;
    this.beatTimer = 0;
    this.calls = new Map();
    this.callSeq = 1;
    this.stopped = false;
    this.started = false;    // initial state fetched in this page
    this.gen = 0;            // connection generation: stale callbacks do nothing
    this.filling = false;
    this.fillAgain = false;
    this.onSessionEnded = null;
    this.load();
    store.onFollowChat = (id, pts) => this.follow(id, pts);
    store.onUnfollowChat = (id) => { this.chats.delete(id); this.save(); };
    store.onRefreshState = () => this.refreshLargeChats();
    this.onOnline = () => { if (this.state === 'connecting') this.connectNow(); };
    this.onOffline = () => { if (this.ws) this.drop('offline'); };
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
  }

  // --- stored positions ---------------------------------------------------

  load() {
    try {
      const s = JSON.parse(localStorage.getItem(this.key) || 'null');
      if (s && Number.isInteger(s.pts)) {
        this.stored = s;
      }
    } catch { this.stored = null; }
  }

  save() {
    if (this.user.pts < 0) return;
    const chats = {};
    for (const [id, c] of this.chats) chats[id] = c.pts;
    try { localStorage.setItem(this.key, JSON.stringify({ pts: this.user.pts, chats })); } catch { /* quota: keep going */ }
  }

  forget() { try { localStorage.removeItem(this.key); } catch { /* nothing */ } }

  // --- connection ---------------------------------------------------------

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    document.body.dataset.conn = s;
    this.store.setOnline(s === 'online');
    this.dispatchEvent(new CustomEvent('state', { detail: s }));
  }

  start() {
    document.body.dataset.conn = this.state;
    this.connectNow();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.beatTimer);
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    if (this.ws) { try { this.ws.close(1000, 'bye'); } catch { /* closed */ } }
    this.ws = null;
  }

  connectNow() {
    clearTimeout(this.retryTimer);
    if (this.stopped) return;
    if (this.ws) return;
    const gen = ++this.gen;
    this.setState('connecting');
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try {
      ws = new WebSocket(`${proto}//${location.host}/api/ws`);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (gen !== this.gen) return;
      // Authenticate with a call rather than in the URL, so the token stays
      // out of logs; its answer is the "ready" point of docs/sync.md.
      this.call('auth', { token: this.token }).then(() => {
        if (gen === this.gen) this.onReady(gen);
      }, () => { /* close follows */ });
    };
    ws.onmessage = (ev) => { if (gen === this.gen) this.onFrame(ev.data); };
    ws.onclose = (ev) => {
      if (gen !== this.gen) return;
      this.ws = null;
      this.failCalls();
      clearTimeout(this.beatTimer);
      if (ev.code === 4401) { this.onSessionEnded?.(); return; }
      this.scheduleReconnect();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  /* Closes the socket (tests and going offline); a reconnect follows. */
  drop(why) {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    this.gen++;
    this.failCalls();
    clearTimeout(this.beatTimer);
    try { ws.close(1000, why || 'drop'); } catch { /* closed */ }
    this.scheduleReconnect(navigator.onLine === false);
  }

  scheduleReconnect(waitForOnline) {
    if (this.stopped) return;
    this.setState('connecting');
    clearTimeout(this.retryTimer);
    if (waitForOnline) { // the 'online' event reconnects; a slow retry in case it never comes
      this.retryTimer = setTimeout(() => this.connectNow(), BACKOFF_MAX);
      return;
    }
    const delay = Math.min(this.backoff, BACKOFF_MAX) * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX);
    this.retryTimer = setTimeout(() => this.connectNow(), delay);
  }

  /* A call over the socket: {"id","method","params"} answered by {"id","ok",...}. */
  call(method, params) {
    return new Promise((resolve, reject) => {
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) { reject(new NetworkError('socket closed')); return; }
      const id = this.callSeq++;
      const timer = setTimeout(() => {
        this.calls.delete(id);
        reject(new NetworkError('timeout'));
        if (this.ws === ws) this.drop('timeout');
      }, CALL_TIMEOUT_MS);
      this.calls.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ id, method, params }));
    });
  }

  failCalls() {
    for (const c of this.calls.values()) { clearTimeout(c.timer); c.reject(new NetworkError('socket closed')); }
    this.calls.clear();
  }

  heartbeat(gen) {
    clearTimeout(this.beatTimer);
    this.beatTimer = setTimeout(async () => {
      if (gen !== this.gen || !this.ws) return;
      try {
        // getState doubles as a check that nothing was missed.
        const st = await this.call('getState', {});
        if (gen !== this.gen) return;
        if (st.pts > this.user.pts) this.fillGaps();
        for (const c of st.chats || []) {
          const f = this.chats.get(Number(c.chat_id));
          if (f && c.pts > f.pts) this.fillGaps();
        }
      } catch { /* drop() already reconnects */ }
      this.heartbeat(gen);
    }, HEARTBEAT_MS);
  }

  // --- frames -------------------------------------------------------------

  onFrame(data) {
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (msg.id != null && ('ok' in msg)) {
      const c = this.calls.get(msg.id);
      if (!c) return;
      this.calls.delete(msg.id);
      clearTimeout(c.timer);
      if (msg.ok) c.resolve(msg.result);
      else c.reject(Object.assign(new Error(msg.description || 'error'), { code: msg.error_code }));
      return;
    }
    if (msg.event) return this.onEvent(msg);
    if (msg.update && Number.isInteger(msg.pts)) {
      if (msg.chat_id != null) this.onChatPush(Number(msg.chat_id), msg.pts, msg.update);
      else this.onUserPush(msg.pts, msg.update);
    }
  }

  onEvent(ev) {
    switch (ev.event) {
    case 'typing': this.store.onTyping(ev); break;
    case 'user_status': this.store.onPresence(ev); break;
    case 'views': this.store.onViews(ev); break;
    case 'ready': break; // we authenticate with a call; its answer is our ready
    default: break;
    }
  }

  onUserPush(pts, update) {
    if (this.user.pts < 0) { this.user.pending.set(pts, update); return; }
    if (pts <= this.user.pts) return; // already applied
    this.user.pending.set(pts, update);
    this.drainUser();
    if (this.user.pending.size) this.fillGaps();
  }

  onChatPush(chatId, pts, update) {
    const f = this.chats.get(chatId);
    if (!f) { this.refreshLargeChats(); return; } // a chat we do not follow yet: learn its position
    if (pts <= f.pts) return;
    f.pending.set(pts, update);
    this.drainChat(chatId, f);
    if (f.pending.size) this.fillGaps();
  }

  /* Applies buffered updates while the next one is there. */
  drainUser() {
    const s = this.user;
    let moved = false;
    while (s.pending.has(s.pts + 1)) {
      const u = s.pending.get(s.pts + 1);
      s.pending.delete(s.pts + 1);
      s.pts++;
      moved = true;
      this.applySafely(u);
    }
    for (const p of s.pending.keys()) if (p <= s.pts) s.pending.delete(p);
    if (moved) this.save();
  }

  drainChat(chatId, f) {
    let moved = false;
    while (f.pending.has(f.pts + 1)) {
      const u = f.pending.get(f.pts + 1);
      f.pending.delete(f.pts + 1);
      f.pts++;
      moved = true;
      this.applySafely(u);
    }
    for (const p of f.pending.keys()) if (p <= f.pts) f.pending.delete(p);
    if (moved) this.save();
  }

  applySafely(u) {
    try { this.store.apply(u); } catch (e) { console.error('update failed', u, e); }
  }

  follow(chatId, pts) {
    if (this.chats.has(chatId)) return;
    this.chats.set(chatId, { pts, pending: new Map() });
    this.save();
    this.fillGaps();
  }

  // --- catch-up -----------------------------------------------------------

  async onReady(gen) {
    this.setState('updating');
    try {
      if (!this.started) await this.init();
      await this.catchUp(gen);
      if (gen !== this.gen) return;
      this.backoff = BACKOFF_MIN;
      this.setState('online');
      this.heartbeat(gen);
      // A gap seen while catching up (unlikely on one socket): fill it now.
      if (this.user.pending.size || [...this.chats.values()].some((f) => f.pending.size)) this.fillGaps();
    } catch (e) {
      if (gen !== this.gen) return;
      console.warn('catch-up failed', e);
      this.drop('catch-up failed');
    }
  }

  /* First connection of this page: where the stored positions stand, and
   * the dialog list.  getState comes before getDialogs, so an update either
   * is in the dialogs or comes after the state's pts. */
  async init() {
    const st = await this.api.call('getState');
    const stored = this.stored;
    const replay = stored && st.pts >= stored.pts && st.pts - stored.pts <= REPLAY_MAX;
    this.user.pts = replay ? stored.pts : st.pts;
    const chats = new Map();
    for (const c of st.chats || []) {
      const id = Number(c.chat_id);
      const old = replay && stored.chats ? stored.chats[id] : undefined;
      const from = Number.isInteger(old) && old <= c.pts && c.pts - old <= REPLAY_MAX ? old : c.pts;
      chats.set(id, { pts: from, pending: this.chats.get(id)?.pending || new Map() });
    }
    this.chats = chats;
    this.save();
    await this.store.loadDialogs();
    this.started = true;
    this.drainUser();
  }

  async catchUp(gen) {
    await this.diffUser(gen);
    for (const [id, f] of [...this.chats]) {
      if (gen !== this.gen) return;
      await this.diffChat(gen, id, f);
    }
  }

  async diffUser(gen) {
    for (let guard = 0; guard < 1000; guard++) {
      const d = await this.api.call('getDifference', { pts: this.user.pts });
      if (gen !== this.gen) return;
      if (d.reload) {
        this.user.pts = d.state.pts;
        this.user.pending.clear();
        this.save();
        await this.store.reloadAll();
        return;
      }
      for (const row of d.updates) {
        if (row.pts <= this.user.pts) continue;
        this.user.pending.set(row.pts, row.update);
      }
      this.drainUser();
      // The log has no holes, but if it ever skipped, trust the server's pts.
      if (d.state.pts > this.user.pts && !this.user.pending.has(this.user.pts + 1) && !d.more) {
        this.user.pts = d.state.pts;
        this.drainUser();
        this.save();
      }
      if (!d.more) return;
    }
  }

  async diffChat(gen, chatId, f) {
    for (let guard = 0; guard < 1000; guard++) {
      let d;
      try {
        d = await this.api.call('getChatDifference', { chat_id: chatId, pts: f.pts });
      } catch (e) {
        if (e instanceof NetworkError || !(e.status >= 400 && e.status < 500) || e.status === 429) throw e;
        // Left, removed, or no longer a large chat: stop following it.
        this.chats.delete(chatId);
        this.save();
        return;
      }
      if (gen !== this.gen || this.chats.get(chatId) !== f) return;
      if (d.reload) {
        f.pts = d.state.pts;
        f.pending.clear();
        this.save();
        await this.store.reloadAll();
        return;
      }
      for (const row of d.updates) if (row.pts > f.pts) f.pending.set(row.pts, row.update);
      this.drainChat(chatId, f);
      if (d.state.pts > f.pts && !f.pending.has(f.pts + 1) && !d.more) {
        f.pts = d.state.pts;
        this.save();
      }
      if (!d.more) return;
    }
  }

  /* A gap (an update ahead of the next expected one): fetch what is missing. */
  async fillGaps() {
    if (this.state !== 'online') return; // the running catch-up will see the buffer
    if (this.filling) { this.fillAgain = true; return; }
    this.filling = true;
    const gen = this.gen;
    try {
      do {
        this.fillAgain = false;
        await this.catchUp(gen);
      } while (this.fillAgain && gen === this.gen);
    } catch (e) {
      if (gen === this.gen) this.drop('gap fill failed');
    } finally { this.filling = false; }
  }

  /* After joining a channel or large group: getState names its sequence;
   * positions already followed stay.  Then the dialogs are merged again so
   * nothing between the join and the state is missing. */
  async refreshLargeChats() {
    if (this.refreshing) { this.refreshAgain = true; return; }
    this.refreshing = true;
    try {
      do {
        this.refreshAgain = false;
        const st = await this.api.call('getState');
        const added = [];
        for (const c of st.chats || []) {
          const id = Number(c.chat_id);
          if (!this.chats.has(id)) { this.chats.set(id, { pts: c.pts, pending: new Map() }); added.push(id); }
        }
        if (added.length) {
          this.save();
          await this.store.loadDialogs();
          // Loaded messages of such a chat may lack posts from before the
          // state's pts: load them again.
          for (const id of added) {
            const cs = this.store.chats.get(id);
            if (cs && cs.msgs) await this.store.resetHistory(cs);
          }
          this.fillGaps();
        }
      } while (this.refreshAgain);
    } catch { /* the next heartbeat or reconnect tries again */ }
    finally { this.refreshing = false; }
  }
}
