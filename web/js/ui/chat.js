// chat.js — one conversation: header, pinned message, the message list
// (infinite scroll up through history, date separators, live messages,
// read receipts, typing), the composer (reply, edit) and message actions.
// Message text only ever enters the page as text nodes (dom.js linkify).

import { h, clear, icon, iconButton, avatar, fmtTime, fmtFull, fmtDay, dayKey, fmtLastSeen, linkify, debounce, toast, copyText } from '../dom.js';
import { errorText } from '../api.js';
import { openMenu } from './menu.js';
import { serviceText, isService, snippet, forwardFrom, previewText } from './format.js';
import { forwardModal, deleteModal, membersText } from './modals.js';
import { uploadFile, uploadErrorText, photoThumb, docView, fmtSize } from './media.js';

const NEAR_TOP = 600;          // px from the top that loads an older page
const NEAR_BOTTOM = 80;        // px from the bottom that counts as "at the bottom"
const TYPING_EVERY = 4000;     // ms between typing actions sent (the server allows one per 3 s)
const GROUP_GAP = 300;         // s between messages of one sender that still read as one group

const drafts = new Map();      // chat id -> unsent text, for this page's life

export class ChatView {
  constructor(ctx, chatId, focusMsgId) {
    this.ctx = ctx;
    this.id = chatId;
    this.cs = ctx.store.chatState(chatId);
    this.els = new Map();       // message id -> <li>
    this.replyTo = null;        // message being answered
    this.editing = null;        // message being edited
    this.lastTyping = 0;
    this.viewed = new Set();
    this.loadingOlder = false;
    this.destroyed = false;
    this.build();
    this.listen();
    this.open(focusMsgId);
  }

  get store() { return this.ctx.store; }
  get isChannel() { return this.cs.chat.type === 'channel'; }
  get isPrivate() { return this.cs.chat.type === 'private'; }
  get isAdmin() { return ['creator', 'administrator'].includes(this.cs.full?.my_status); }
  get isMember() {
    if (this.isPrivate) return true;
    const s = this.cs.full?.my_status;
    return s ? ['creator', 'administrator', 'member'].includes(s) : !this.cs.left;
  }
  get canPost() {
    if (this.isPrivate) return true;
    if (!this.isMember) return false;
    if (this.isChannel) return this.isAdmin;
    return this.isAdmin || this.cs.full?.permissions?.can_send_messages !== false;
  }
  get canPin() {
    if (this.isPrivate) return true;
    return this.isAdmin || (this.cs.chat.type === 'group' && this.isMember && !!this.cs.full?.permissions?.can_pin_messages);
  }

  // --- layout -------------------------------------------------------------

  build() {
    const ctx = this.ctx;
    this.titleEl = h('h2', { class: 'chat-name', id: 'chat-title' });
    this.subEl = h('div', { class: 'chat-sub', id: 'chat-sub' });
    this.avatarBox = h('span', { class: 'chat-avatar' });
    const back = iconButton('back', 'Back to chats', () => ctx.closeChat(), 'back-btn');
    const headMain = h('button', { type: 'button', class: 'chat-head-main', 'aria-label': 'Chat info',
      onclick: () => ctx.showInfo(this.id) }, this.avatarBox, h('span', { class: 'chat-head-text' }, this.titleEl, this.subEl));
    const infoBtn = iconButton('info', 'Chat info', () => ctx.showInfo(this.id), 'info-btn');
    this.head = h('header', { class: 'chat-head' }, back, headMain, infoBtn);

    this.pinBar = h('div', { class: 'pin-bar', id: 'pin-bar', hidden: true });

    this.topEl = h('div', { class: 'history-top', 'aria-hidden': 'true' });
    this.listEl = h('ol', { class: 'msg-list', id: 'msg-list' });
    this.pendEl = h('ol', { class: 'msg-list pending-list', id: 'pending-list' });
    this.scroller = h('div', { class: 'messages', id: 'messages', tabindex: '0', role: 'log', 'aria-label': 'Messages',
      'aria-live': 'polite' }, this.topEl, this.listEl, this.pendEl);
    this.downBadge = h('span', { class: 'badge', hidden: true });
    this.downBtn = h('button', { type: 'button', class: 'to-bottom', id: 'to-bottom', hidden: true, 'aria-label': 'Go to the newest messages',
      onclick: () => this.toNewest() }, icon('down'), this.downBadge);

    // Composer.
    this.barEl = h('div', { class: 'compose-bar', hidden: true });
    this.input = h('textarea', { id: 'composer', class: 'composer-input', rows: 1, maxlength: 4096,
      placeholder: 'Message', 'aria-label': 'Message text', autocomplete: 'off' });
    this.sendBtn = h('button', { type: 'submit', class: 'send-btn', id: 'send', 'aria-label': 'Send', title: 'Send (Enter)' }, icon('send'));
    this.fileInput = h('input', { type: 'file', id: 'attach-input', multiple: true, hidden: true, tabindex: '-1' });
    this.attachBtn = h('button', { type: 'button', class: 'attach-btn', id: 'attach', 'aria-label': 'Attach photos or files',
      title: 'Attach photos or files', onclick: () => this.fileInput.click() }, icon('attach'));
    this.form = h('form', { class: 'composer-form' }, this.attachBtn, this.fileInput, this.input, this.sendBtn);
    this.upEl = h('ul', { class: 'uploads', id: 'uploads', 'aria-label': 'Uploads', hidden: true });
    this.dropEl = h('div', { class: 'drop-zone', hidden: true, 'aria-hidden': 'true' },
      h('div', { class: 'drop-card' }, icon('attach'), h('span', { text: 'Drop files here to send them' })));
    this.lockedEl = h('div', { class: 'composer-locked', hidden: true });
    this.composer = h('footer', { class: 'composer' }, this.upEl, this.barEl, this.form, this.lockedEl);

    this.el = h('section', { class: 'chat', 'aria-labelledby': 'chat-title', dataset: { chat: this.id } },
      this.head, this.pinBar,
      h('div', { class: 'messages-wrap' }, this.scroller, this.downBtn),
      this.composer, this.dropEl);
  }

  listen() {
    const { store } = this;
    this.onMessages = (ev) => { if (ev.detail.id === this.id) this.onChange(ev.detail); };
    this.onChat = (ev) => { if (ev.detail.id === this.id) this.renderHead(); };
    this.onTyping = (ev) => { if (ev.detail.id === this.id) this.renderTyping(); };
    this.onPresence = (ev) => { if (this.isPrivate && ev.detail.id === this.id) this.renderHead(); };
    this.onChats = () => { this.renderDownBadge(); };
    this.onConn = () => this.renderHead();
    store.addEventListener('messages', this.onMessages);
    store.addEventListener('chat', this.onChat);
    store.addEventListener('typing', this.onTyping);
    store.addEventListener('presence', this.onPresence);
    store.addEventListener('chats', this.onChats);
    this.ctx.sync.addEventListener('state', this.onConn);

    this.scroller.addEventListener('scroll', () => this.onScroll(), { passive: true });
    this.scroller.addEventListener('keydown', (ev) => this.onListKey(ev));
    this.listEl.addEventListener('contextmenu', (ev) => {
      const li = ev.target.closest('.msg[data-id]');
      if (!li || ev.target.closest('a')) return;
      ev.preventDefault();
      this.openActions(li, { x: ev.clientX, y: ev.clientY });
    });
    this.listEl.addEventListener('dblclick', (ev) => {
      const li = ev.target.closest('.msg[data-id]');
      if (li && this.canPost && !window.getSelection()?.toString()) this.startReply(Number(li.dataset.id));
    });
    this.form.addEventListener('submit', (ev) => { ev.preventDefault(); this.submit(); });
    this.fileInput.addEventListener('change', () => {
      const files = [...this.fileInput.files];
      this.fileInput.value = '';
      this.sendFiles(files);
    });
    // Drag and drop of files anywhere on the conversation.
    let depth = 0;
    const hasFiles = (ev) => [...(ev.dataTransfer?.types || [])].includes('Files');
    this.el.addEventListener('dragenter', (ev) => {
      if (!hasFiles(ev) || !this.canPost) return;
      ev.preventDefault();
      depth++;
      this.dropEl.hidden = false;
    });
    this.el.addEventListener('dragover', (ev) => {
      if (!hasFiles(ev) || !this.canPost) return;
      ev.preventDefault();
      ev.dataTransfer.dropEffect = 'copy';
    });
    this.el.addEventListener('dragleave', (ev) => {
      if (!hasFiles(ev)) return;
      depth = Math.max(0, depth - 1);
      if (!depth) this.dropEl.hidden = true;
    });
    this.el.addEventListener('drop', (ev) => {
      depth = 0;
      this.dropEl.hidden = true;
      if (!hasFiles(ev)) return;
      ev.preventDefault();
      if (this.canPost) this.sendFiles([...ev.dataTransfer.files]);
    });
    this.input.addEventListener('keydown', (ev) => this.onInputKey(ev));
    this.input.addEventListener('input', () => this.onInput());
    this.seenMax = 0;
    const readLater = debounce(() => this.markRead(), 150);
    this.markReadSoon = () => { this.noteSeen(); readLater(); };
    this.markReadSoon.cancel = readLater.cancel;
    this.onVisible = () => { if (document.visibilityState === 'visible') this.markReadSoon(); };
    document.addEventListener('visibilitychange', this.onVisible);
    window.addEventListener('focus', this.onVisible);
    if ('IntersectionObserver' in window) {
      this.viewObserver = new IntersectionObserver((entries) => {
        for (const e of entries) {
          if (!e.isIntersecting) continue;
          const id = Number(e.target.dataset.id);
          if (!this.viewed.has(id)) { this.viewed.add(id); this.store.markViewed(this.id, id); }
          this.viewObserver.unobserve(e.target);
        }
      }, { root: this.scroller, threshold: 0.5 });
    }
  }

  destroy() {
    // Messages that were on screen count as read even if we leave at once.
    this.markReadSoon.cancel();
    this.markRead();
    this.destroyed = true;
    clearInterval(this.fullTimer);
    const { store } = this;
    store.removeEventListener('messages', this.onMessages);
    store.removeEventListener('chat', this.onChat);
    store.removeEventListener('typing', this.onTyping);
    store.removeEventListener('presence', this.onPresence);
    store.removeEventListener('chats', this.onChats);
    this.ctx.sync.removeEventListener('state', this.onConn);
    document.removeEventListener('visibilitychange', this.onVisible);
    window.removeEventListener('focus', this.onVisible);
    this.viewObserver?.disconnect();
    if (!this.editing) drafts.set(this.id, this.input.value);
    this.el.remove();
  }

  async open(focusMsgId) {
    const { store, cs } = this;
    this.input.value = drafts.get(this.id) || '';
    this.autoGrow();
    this.renderHead();
    this.renderComposer();
    this.renderTyping();
    this.topEl.textContent = 'Loading…';
    if (cs.chat.type !== 'private') {
      store.loadFull(this.id).then(() => { this.renderHead(); this.renderComposer(); }, () => {});
      // Joins to a channel reach only the joiner: refresh the counts now and then.
      this.fullTimer = setInterval(() => { if (document.visibilityState === 'visible') store.loadFull(this.id).catch(() => {}); }, 60000);
    }
    else if (!store.isSelf(cs)) store.loadPresence(this.id);
    try {
      if (focusMsgId) await store.jumpTo(this.id, focusMsgId);
      else await store.openHistory(this.id);
    } catch (e) {
      if (this.destroyed) return;
      this.topEl.textContent = e.code === 'CHAT_FORBIDDEN' || e.code === 'CHAT_NOT_FOUND'
        ? 'Join this chat to read its messages.' : errorText(e);
      return;
    }
    if (this.destroyed) return;
    this.renderAll();
    if (focusMsgId) this.focusMessage(focusMsgId, true); else this.scrollToBottom();
    this.fillViewport();
    this.markReadSoon();
    if (cs.pinnedId && !cs.pinned) store.loadPinned(cs);
  }

  // --- header, pin bar, composer state -----------------------------------

  renderHead() {
    const { store, cs } = this;
    const name = store.title(cs);
    this.titleEl.textContent = name;
    clear(this.avatarBox).append(avatar(cs.id, name, 'md', store.isSelf(cs) ? 'saved' : null));
    let sub = '', cls = '';
    const conn = this.ctx.sync.state;
    const typing = store.typingText(cs);
    if (conn !== 'online') { sub = conn === 'updating' ? 'updating…' : 'connecting…'; cls = 'conn'; }
    else if (typing) { sub = typing; cls = 'typing'; }
    else if (this.isPrivate) {
      if (store.isSelf(cs)) sub = 'notes to yourself';
      else {
        const p = store.presence.get(cs.id);
        if (p?.status === 'online') { sub = 'online'; cls = 'online'; }
        else if (p?.status === 'offline') sub = fmtLastSeen(p.last_seen);
        else if (p?.status === 'hidden') sub = 'last seen recently';
        else sub = cs.chat.username ? '@' + cs.chat.username : '';
      }
    } else sub = membersText(cs);
    this.subEl.textContent = sub;
    this.subEl.className = 'chat-sub' + (cls ? ' ' + cls : '');
    this.renderPin();
    this.renderComposer();
  }

  renderPin() {
    const { cs } = this;
    clear(this.pinBar);
    this.pinBar.hidden = !cs.pinnedId;
    if (!cs.pinnedId) return;
    const text = cs.pinned ? previewText(this.store, cs, cs.pinned) : '…';
    this.pinBar.append(
      h('button', { type: 'button', class: 'pin-main', onclick: () => this.jumpTo(cs.pinnedId), 'aria-label': 'Go to the pinned message' },
        icon('pin'), h('span', { class: 'pin-text' }, h('strong', { text: 'Pinned message' }), h('span', { class: 'pin-snippet', text }))),
      this.canPin ? iconButton('close', 'Unpin', () => this.unpin()) : null);
  }

  renderComposer() {
    const locked = !this.canPost;
    this.form.hidden = locked;
    this.lockedEl.hidden = !locked;
    clear(this.lockedEl);
    if (!locked) {
      this.input.placeholder = this.isChannel ? 'Broadcast a post' : 'Message';
      return;
    }
    const { cs } = this;
    if (!cs.full && !this.isPrivate) { this.lockedEl.append(h('span', { class: 'muted', text: '…' })); return; }
    const s = cs.full?.my_status;
    if (s === 'kicked') this.lockedEl.append(h('span', { class: 'muted', text: 'You were removed from this chat.' }));
    else if (!this.isMember) {
      const kind = this.isChannel ? 'channel' : 'group';
      if (cs.chat.username) {
        this.lockedEl.append(h('button', { type: 'button', class: 'btn btn-primary btn-wide', id: 'join-public',
          text: `Join ${kind}`, onclick: () => this.joinPublic() }));
      } else this.lockedEl.append(h('span', { class: 'muted', text: `You are not a member of this ${kind}.` }));
    } else if (this.isChannel) {
      this.lockedEl.append(h('span', { class: 'muted', text: 'Only the channel\u2019s admins can post here.' }));
    } else this.lockedEl.append(h('span', { class: 'muted', text: 'Only admins can send messages in this group.' }));
  }

  async joinPublic() {
    try {
      const chat = await this.ctx.api.call('joinChat', { chat_id: this.id });
      this.store.mergeChat(chat).listed = true;
      this.cs.left = false;
      this.ctx.sync.refreshLargeChats();
      await this.store.loadFull(this.id);
      await this.store.resetHistory(this.cs);
      this.store.emitChats();
    } catch (e) { toast(errorText(e), 'error'); }
  }

  renderTyping() { this.renderHead(); }

  renderDownBadge() {
    const n = this.cs.unread;
    this.downBadge.hidden = !n;
    this.downBadge.textContent = n > 99 ? '99+' : String(n);
  }

  // --- messages -----------------------------------------------------------

  renderAll() {
    clear(this.listEl);
    this.els.clear();
    const ml = this.cs.msgs;
    if (ml) for (const id of ml.ids) { const li = this.renderMsg(ml.byId.get(id)); this.els.set(id, li); this.listEl.append(li); }
    this.fixDays();
    this.renderPending();
    this.renderTop();
  }

  renderTop() {
    const ml = this.cs.msgs;
    clear(this.topEl);
    if (!ml) return;
    if (ml.oldest) {
      if (!ml.ids.length && !this.cs.pending.length) {
        this.topEl.append(h('div', { class: 'chat-empty' }, h('p', { text: 'No messages here yet.' }),
          this.canPost ? h('p', { class: 'muted', text: 'Say hello!' }) : null));
      }
    } else this.topEl.append(h('span', { class: 'spinner', 'aria-hidden': 'true' }));
  }

  /* Applies a batch of changes from the store, keeping the scroll position:
   * at the bottom stays at the bottom, otherwise the first visible message
   * stays where it was. */
  onChange(d) {
    const ml = this.cs.msgs;
    const wasBottom = this.atBottom();
    const anchor = wasBottom ? null : this.anchor();
    if (d.reset) {
      this.renderAll();
    } else if (ml) {
      for (const id of d.removed) { const li = this.els.get(id); if (li) { li.remove(); this.els.delete(id); } }
      for (const id of d.changed) {
        const old = this.els.get(id), m = ml.byId.get(id);
        if (old && m) { const li = this.renderMsg(m); old.replaceWith(li); this.els.set(id, li); }
      }
      const added = [...d.added].filter((id) => ml.byId.has(id) && !this.els.has(id)).sort((a, b) => a - b);
      for (const id of added) {
        const li = this.renderMsg(ml.byId.get(id));
        this.els.set(id, li);
        const i = ml.ids.indexOf(id);
        let next = null;
        for (let j = i + 1; j < ml.ids.length && !next; j++) next = this.els.get(ml.ids[j]) || null;
        if (next) {
          const before = next.previousSibling?.classList.contains('day') ? next.previousSibling : next;
          this.listEl.insertBefore(li, before);
        } else this.listEl.append(li);
      }
      if (d.removed.size || d.added.size || d.changed.size) this.fixDays();
      if (d.pending) { this.renderPending(); this.updateTicks(); }
      this.renderTop();
    }
    if (d.reset) this.scrollToBottom();
    else if (wasBottom) this.scrollToBottom();
    else if (anchor) this.restore(anchor);
    this.markReadSoon();
  }

  renderMsg(m) {
    const { store, cs } = this;
    const li = h('li', { class: 'msg', tabindex: '-1', dataset: { id: m.message_id, day: dayKey(m.date), date: m.date,
      from: m.from ? m.from.id : 'c' } });
    if (isService(m)) {
      li.classList.add('service');
      li.append(h('div', { class: 'service-text', text: serviceText(store, cs, m) || 'Service message' }));
      return li;
    }
    const out = !this.isChannel && store.isOut(cs, m);
    li.classList.add(out ? 'out' : 'in');
    const bubble = h('div', { class: 'bubble' });
    if (cs.chat.type === 'group' && !out && m.from) {
      const nm = h('div', { class: 'sender', text: store.userName(m.from) });
      nm.style.setProperty('--name', nameColor(m.from.id));
      bubble.append(nm);
    }
    if (m.forward_origin) {
      bubble.append(h('div', { class: 'fwd' }, icon('forward'), h('span', { text: 'Forwarded from ' + forwardFrom(store, m.forward_origin) })));
    }
    const replyId = m.reply_to_message?.message_id || m.reply_to_message_id;
    if (replyId) bubble.append(this.renderQuote(replyId, m.reply_to_message));
    const caption = m.text ?? m.caption ?? '';
    if (m.photo?.length) { bubble.append(photoThumb(this.ctx, m, caption)); li.classList.add('has-photo'); }
    const doc = m.document || m.video || m.voice;
    if (doc) bubble.append(docView(this.ctx, { file_name: m.document ? 'File' : m.video ? 'Video' : 'Voice message', ...doc }));
    const text = h('div', { class: 'text' });
    linkify(text, caption);
    bubble.append(text);
    const meta = h('span', { class: 'meta' });
    if (m.edit_date) meta.append(h('span', { class: 'edited', text: 'edited', title: 'Edited ' + fmtFull(m.edit_date) }));
    if (this.isChannel) meta.append(h('span', { class: 'views', title: 'Views' }, icon('eye'), String(m.views || 0)));
    meta.append(h('time', { datetime: new Date(m.date * 1000).toISOString(), title: fmtFull(m.date), text: fmtTime(m.date) }));
    if (out) meta.append(this.tick(m));
    bubble.append(meta);
    const more = h('button', { type: 'button', class: 'msg-more', tabindex: '-1', 'aria-label': 'Message actions',
      onclick: (ev) => { ev.stopPropagation(); this.openActions(li, ev.currentTarget); } }, icon('more'));
    li.append(bubble, more);
    if (this.isChannel && this.viewObserver && !this.viewed.has(m.message_id)) this.viewObserver.observe(li);
    return li;
  }

  tick(m) {
    const read = this.isPrivate && (m.message_id <= this.cs.readOut || this.store.isSelf(this.cs));
    const s = h('span', { class: 'tick' + (read ? ' read' : ''), 'aria-label': read ? 'Read' : 'Sent', title: read ? 'Read' : 'Sent' },
      icon(read ? 'checks' : 'check'));
    s.dataset.read = read ? '1' : '0';
    return s;
  }

  updateTicks() {
    for (const [id, li] of this.els) {
      const t = li.querySelector('.tick');
      if (!t) continue;
      const m = this.cs.msgs?.byId.get(id);
      if (!m) continue;
      const fresh = this.tick(m);
      if (fresh.dataset.read !== t.dataset.read) t.replaceWith(fresh);
    }
  }

  renderQuote(replyId, nested) {
    const q = h('button', { type: 'button', class: 'quote', tabindex: '-1', onclick: (ev) => { ev.stopPropagation(); this.jumpTo(replyId); } });
    const fill = (m) => {
      clear(q);
      if (!m) { q.append(h('span', { class: 'quote-text muted', text: 'Deleted message' })); return; }
      q.append(h('strong', { class: 'quote-name', text: m.from ? this.store.userName(m.from) : this.store.title(this.cs) }),
        h('span', { class: 'quote-text', text: previewText(this.store, this.cs, m) }));
    };
    const known = nested || this.cs.msgs?.byId.get(replyId);
    if (known) fill(known);
    else {
      q.append(h('span', { class: 'quote-text muted', text: '…' }));
      this.store.fetchMessage(this.id, replyId).then(fill, () => fill(null));
    }
    return q;
  }

  renderPending() {
    clear(this.pendEl);
    for (const p of this.cs.pending) {
      const failed = p.state === 'failed';
      const li = h('li', { class: 'msg out pending' + (failed ? ' failed' : ''), dataset: { tmp: p.tmp } });
      const bubble = h('div', { class: 'bubble' });
      if (p.reply_to) bubble.append(this.renderQuote(p.reply_to));
      const text = h('div', { class: 'text' });
      linkify(text, p.text);
      bubble.append(text, h('span', { class: 'meta' }, h('time', { text: fmtTime(p.date) }),
        failed ? h('span', { class: 'tick', title: p.error }, icon('error')) : h('span', { class: 'tick', title: 'Sending…', 'aria-label': 'Sending' }, icon('clock'))));
      li.append(bubble);
      if (failed) {
        li.append(h('div', { class: 'failed-line' }, h('span', { text: p.error || 'Not sent' }),
          h('button', { type: 'button', class: 'link-btn', text: 'Retry', onclick: () => this.store.retry(this.id, p.tmp) }),
          h('button', { type: 'button', class: 'link-btn', text: 'Discard', onclick: () => this.store.discard(this.id, p.tmp) })));
      }
      this.pendEl.append(li);
    }
  }

  /* Date separators between days, and "first of a run" marks for bubbles. */
  fixDays() {
    let prevDay = null, prev = null;
    for (let node = this.listEl.firstChild; node;) {
      const next = node.nextSibling;
      if (node.classList.contains('day')) {
        if (!next || next.classList.contains('day') || next.dataset.day !== node.dataset.day || next.dataset.day === prevDay) node.remove();
        node = next;
        continue;
      }
      const day = node.dataset.day;
      if (day !== prevDay) {
        const before = node.previousSibling;
        if (!(before && before.classList.contains('day') && before.dataset.day === day)) {
          this.listEl.insertBefore(h('li', { class: 'day', dataset: { day }, 'aria-hidden': 'false' },
            h('span', { text: fmtDay(Number(node.dataset.date)) })), node);
        }
      }
      const first = !prev || day !== prevDay || prev.dataset.from !== node.dataset.from || prev.classList.contains('service') ||
        Number(node.dataset.date) - Number(prev.dataset.date) > GROUP_GAP;
      node.classList.toggle('first', first);
      if (prev) prev.classList.toggle('last', first);
      prevDay = day;
      prev = node;
      node = next;
    }
    if (prev) prev.classList.add('last');
  }

  // --- scrolling ----------------------------------------------------------

  atBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM;
  }

  scrollToBottom() { this.scroller.scrollTop = this.scroller.scrollHeight; }

  anchor() {
    const top = this.scroller.getBoundingClientRect().top;
    for (const li of this.listEl.children) {
      if (!li.classList.contains('msg')) continue; // day separators are sticky
      const r = li.getBoundingClientRect();
      if (r.bottom > top) return { el: li, offset: r.top - top };
    }
    return null;
  }

  restore(a) {
    if (!a.el.isConnected) return;
    const top = this.scroller.getBoundingClientRect().top;
    this.scroller.scrollTop += a.el.getBoundingClientRect().top - top - a.offset;
  }

  onScroll() {
    const s = this.scroller;
    const ml = this.cs.msgs;
    if (ml && s.scrollTop < NEAR_TOP && !ml.oldest) this.loadOlder();
    if (ml && !ml.newest && s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_TOP) this.loadNewer();
    const away = !this.atBottom() || (ml && !ml.newest);
    this.downBtn.hidden = !away;
    this.renderDownBadge();
    this.markReadSoon();
  }

  async loadOlder() {
    if (this.loadingOlder) return;
    this.loadingOlder = true;
    try {
      await this.store.loadOlder(this.id);
    } catch (e) {
      toast(errorText(e), 'error');
    } finally {
      this.loadingOlder = false;
    }
    this.renderTop();
  }

  async loadNewer() {
    try { await this.store.loadNewer(this.id); } catch { /* scrolling again retries */ }
  }

  /* Loads older pages until the list can scroll (a tall screen, short pages). */
  async fillViewport() {
    for (let i = 0; i < 5 && !this.destroyed; i++) {
      const ml = this.cs.msgs;
      if (!ml || ml.oldest || this.scroller.scrollHeight > this.scroller.clientHeight + NEAR_TOP) break;
      const before = ml.ids.length;
      await this.loadOlder();
      if ((this.cs.msgs?.ids.length || 0) === before) break;
    }
  }

  async toNewest() {
    if (this.cs.msgs && !this.cs.msgs.newest) {
      try { await this.store.resetHistory(this.cs); } catch (e) { toast(errorText(e), 'error'); return; }
    }
    this.scrollToBottom();
  }

  async jumpTo(msgId) {
    if (!this.cs.msgs?.byId.has(msgId)) {
      try { await this.store.jumpTo(this.id, msgId); } catch (e) { toast(errorText(e), 'error'); return; }
    }
    if (!this.focusMessage(msgId, true)) toast('That message is no longer available');
  }

  focusMessage(msgId, flash) {
    const li = this.els.get(msgId);
    if (!li) return false;
    li.scrollIntoView({ block: 'center' });
    li.focus({ preventScroll: true });
    if (flash) { li.classList.remove('flash'); void li.offsetWidth; li.classList.add('flash'); }
    return true;
  }

  /* Notes the newest message on screen now (binary search: the list is in
   * order), and reads up to it shortly after (one call for a burst). */
  noteSeen() {
    if (this.destroyed || document.visibilityState !== 'visible' || !this.cs.msgs) return;
    const ids = this.cs.msgs.ids;
    const bottom = this.scroller.getBoundingClientRect().bottom - 8;
    let lo = 0, hi = ids.length - 1, max = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const li = this.els.get(ids[mid]);
      if (li && li.getBoundingClientRect().top < bottom) { max = ids[mid]; lo = mid + 1; } else hi = mid - 1;
    }
    if (max > this.seenMax) this.seenMax = max;
  }

  markRead() {
    this.noteSeen();
    if (this.seenMax > this.cs.readIn) this.store.markRead(this.id, this.seenMax);
  }

  // --- keyboard -----------------------------------------------------------

  /* In the message list: Up/Down move between messages, Enter opens the
   * actions, R replies, E edits, Delete deletes, Esc returns to the composer. */
  onListKey(ev) {
    if (ev.target.closest('input, textarea')) return;
    const items = [...this.listEl.querySelectorAll('.msg[data-id]')];
    let li = ev.target.closest?.('.msg[data-id]');
    const i = li ? items.indexOf(li) : -1;
    const move = (j) => { const t = items[Math.max(0, Math.min(items.length - 1, j))]; if (t) { t.focus(); t.scrollIntoView({ block: 'nearest' }); } };
    switch (ev.key) {
    case 'ArrowUp': ev.preventDefault(); move(i < 0 ? items.length - 1 : i - 1); if (i <= 1) this.loadOlder(); return;
    case 'ArrowDown': ev.preventDefault(); if (i >= 0 && i === items.length - 1) this.focusComposer(); else move(i < 0 ? items.length - 1 : i + 1); return;
    case 'Home': ev.preventDefault(); move(0); return;
    case 'End': ev.preventDefault(); move(items.length - 1); return;
    case 'Escape': ev.preventDefault(); this.focusComposer(); return;
    default: break;
    }
    if (!li) return;
    const id = Number(li.dataset.id);
    const m = this.cs.msgs?.byId.get(id);
    if (!m || isService(m)) return;
    if ((ev.key === 'Enter' || ev.key === ' ') && ev.target !== li && ev.target.closest('button, a')) return; // its own action
    if (ev.key === 'Enter' || ev.key === 'ContextMenu' || (ev.key === 'F10' && ev.shiftKey)) { ev.preventDefault(); this.openActions(li, li); }
    else if (ev.key === 'r' && this.canPost) { ev.preventDefault(); this.startReply(id); }
    else if (ev.key === 'e' && this.canEdit(m)) { ev.preventDefault(); this.startEdit(m); }
    else if (ev.key === 'Delete') { ev.preventDefault(); this.askDelete(m); }
  }

  focusComposer() { if (!this.form.hidden) this.input.focus(); else this.scroller.focus(); }

  onInputKey(ev) {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); this.submit(); return; }
    if (ev.key === 'Escape') {
      if (this.editing || this.replyTo) { ev.preventDefault(); this.cancelBar(); }
      return;
    }
    if (ev.key === 'ArrowUp' && !this.input.value && !this.editing) {
      // Up in an empty composer edits my last message, as in other messengers.
      const ml = this.cs.msgs;
      for (let i = (ml?.ids.length || 0) - 1; i >= 0; i--) {
        const m = ml.byId.get(ml.ids[i]);
        if (this.canEdit(m)) { ev.preventDefault(); this.startEdit(m); return; }
      }
    }
  }

  onInput() {
    this.autoGrow();
    if (this.editing || !this.input.value.trim() || this.isChannel) return;
    const now = Date.now();
    if (now - this.lastTyping > TYPING_EVERY) {
      this.lastTyping = now;
      this.ctx.api.call('sendChatAction', { chat_id: this.id, action: 'typing' }, { retries: 0 }).catch(() => {});
    }
  }

  autoGrow() {
    this.input.style.height = 'auto';
    this.input.style.height = Math.min(this.input.scrollHeight, 200) + 'px';
  }

  // --- composing ----------------------------------------------------------

  async submit() {
    const text = this.input.value.replace(/^\s+|\s+$/g, '');
    if (!text) return;
    if ([...text].length > 4096) { toast('Messages can be at most 4096 characters long', 'error'); return; }
    if (this.editing) {
      const m = this.editing;
      if (text === m.text) { this.cancelBar(); return; }
      this.sendBtn.disabled = true;
      try {
        await this.store.edit(this.id, m.message_id, text);
        this.cancelBar();
      } catch (e) { toast(errorText(e), 'error'); }
      this.sendBtn.disabled = false;
      return;
    }
    const reply = this.replyTo ? this.replyTo.message_id : 0;
    this.input.value = '';
    drafts.delete(this.id);
    this.autoGrow();
    this.cancelBar();
    this.lastTyping = 0;
    if (this.cs.msgs && !this.cs.msgs.newest) await this.toNewest();
    this.store.send(this.id, text, reply);
    this.scrollToBottom();
    this.input.focus();
  }

  /* Sends files picked or dropped: photos (JPEG, PNG, WebP) with sendPhoto,
   * anything else with sendDocument, one row with a progress bar and Cancel
   * each.  The composer's text, if any, goes as the first file's caption. */
  sendFiles(files) {
    if (!files.length || !this.canPost) return;
    let caption = '';
    if (!this.editing) {
      caption = this.input.value.replace(/^\s+|\s+$/g, '');
      if ([...caption].length > 1024) { toast('A caption can be at most 1024 characters long', 'error'); return; }
      if (caption) { this.input.value = ''; drafts.delete(this.id); this.autoGrow(); }
    }
    const reply = this.replyTo ? this.replyTo.message_id : 0;
    if (reply) this.cancelBar();
    files.forEach((f, i) => this.startUpload(f, i === 0 ? caption : '', i === 0 ? reply : 0));
  }

  startUpload(file, caption, replyTo) {
    const bar = h('progress', { class: 'upload-bar', max: '1', value: '0', 'aria-label': 'Sending ' + file.name });
    const status = h('span', { class: 'upload-status', text: fmtSize(file.size) });
    const li = h('li', { class: 'upload' }, icon('attach', 'upload-icon'),
      h('span', { class: 'upload-main' }, h('span', { class: 'upload-name', text: file.name || 'file' }), bar, status));
    const up = uploadFile(this.ctx.api, this.id, file, { caption, replyTo,
      onProgress: (f) => {
        bar.value = f;
        status.textContent = f >= 1 ? 'Processing…' : `${fmtSize(file.size * f)} of ${fmtSize(file.size)}`;
      } });
    const cancel = iconButton('close', 'Cancel sending ' + (file.name || 'file'), () => up.abort(), 'upload-cancel');
    li.append(cancel);
    this.upEl.append(li);
    this.upEl.hidden = false;
    const done = () => { li.remove(); this.upEl.hidden = !this.upEl.children.length; };
    up.promise.then((m) => {
      done();
      this.store.addSent(this.id, m);
      this.scrollToBottom();
    }, (e) => {
      if (e.cancelled) { done(); return; }
      const words = uploadErrorText(e, file);
      li.classList.add('failed');
      bar.remove();
      status.textContent = words;
      status.setAttribute('role', 'alert');
      cancel.setAttribute('aria-label', 'Dismiss');
      cancel.title = 'Dismiss';
      cancel.onclick = null;
      cancel.addEventListener('click', done);
      toast(words, 'error', 6000);
    });
  }

  showBar(kind, m) {
    clear(this.barEl);
    this.barEl.hidden = false;
    this.barEl.append(icon(kind === 'edit' ? 'edit' : 'reply', 'bar-icon'),
      h('div', { class: 'bar-text' },
        h('strong', { text: kind === 'edit' ? 'Edit message' : 'Reply to ' + (m.from ? this.store.userName(m.from) : this.store.title(this.cs)) }),
        h('span', { text: snippet(m.text || previewText(this.store, this.cs, m), 100) })),
      iconButton('close', kind === 'edit' ? 'Cancel editing' : 'Cancel reply', () => this.cancelBar()));
  }

  startReply(id) {
    const m = this.cs.msgs?.byId.get(id);
    if (!m) return;
    if (this.editing) { this.editing = null; this.input.value = drafts.get(this.id) || ''; }
    this.replyTo = m;
    this.showBar('reply', m);
    this.input.focus();
  }

  startEdit(m) {
    if (!this.editing) drafts.set(this.id, this.input.value);
    this.replyTo = null;
    this.editing = m;
    this.showBar('edit', m);
    this.input.value = m.text;
    this.autoGrow();
    this.input.focus();
    this.input.setSelectionRange(this.input.value.length, this.input.value.length);
  }

  cancelBar() {
    const wasEditing = !!this.editing;
    this.replyTo = null;
    this.editing = null;
    this.barEl.hidden = true;
    clear(this.barEl);
    if (wasEditing) { this.input.value = drafts.get(this.id) || ''; this.autoGrow(); }
  }

  // --- message actions ----------------------------------------------------

  canEdit(m) {
    return !!m && m.text != null && !m.forward_origin && (this.isChannel ? this.isAdmin : this.store.isOut(this.cs, m));
  }

  canRevoke(m) {
    if (this.isPrivate) return true;
    return this.isAdmin || (!this.isChannel && this.store.isOut(this.cs, m));
  }

  openActions(li, at) {
    const id = Number(li.dataset.id);
    const m = this.cs.msgs?.byId.get(id);
    if (!m || isService(m)) return;
    const pinned = this.cs.pinnedId === id;
    openMenu(at, [
      this.canPost ? { label: 'Reply', icon: 'reply', onClick: () => this.startReply(id) } : null,
      this.canEdit(m) ? { label: 'Edit', icon: 'edit', onClick: () => this.startEdit(m) } : null,
      { label: 'Copy text', icon: 'copy', onClick: () => copyText(m.text ?? m.caption ?? '') },
      { label: 'Forward', icon: 'forward', onClick: () => forwardModal(this.ctx, this.id, [id]) },
      this.canPin ? { label: pinned ? 'Unpin' : 'Pin', icon: 'pin', onClick: () => (pinned ? this.unpin() : this.pin(id)) } : null,
      { label: 'Delete', icon: 'trash', danger: true, onClick: () => this.askDelete(m) },
    ], 'Message actions');
  }

  askDelete(m) {
    deleteModal(this.ctx, this.id, [m.message_id], this.canRevoke(m) && !this.store.isSelf(this.cs));
  }

  async pin(id) {
    try { await this.ctx.api.call('pinChatMessage', { chat_id: this.id, message_id: id }); } catch (e) { toast(errorText(e), 'error'); }
  }

  async unpin() {
    try { await this.ctx.api.call('unpinChatMessage', { chat_id: this.id }); } catch (e) { toast(errorText(e), 'error'); }
  }
}

const NAME_COLORS = ['#d45246', '#e0802c', '#8e6ccf', '#4fa63e', '#2f9ba6', '#3f88c5', '#c94f88', '#c58f12'];
function nameColor(id) { return NAME_COLORS[Math.abs(Number(id)) % NAME_COLORS.length]; }
