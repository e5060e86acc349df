// info.js — the chat info panel: who or what the chat is, its members or
// subscribers, invite links (create, copy, revoke), adding members, leaving;
// for a private chat the user's bio and blocking.

import { h, clear, icon, iconButton, avatar, fmtFull, fmtLastSeen, toast, copyText, plural } from '../dom.js';
import { errorText } from '../api.js';
import { addMembersModal, confirmModal, membersText } from './modals.js';

const STATUS_WORDS = { creator: 'owner', administrator: 'admin', member: '', left: 'left', kicked: 'removed' };

export class InfoPanel {
  constructor(ctx, chatId) {
    this.ctx = ctx;
    this.id = chatId;
    this.cs = ctx.store.chatState(chatId);
    this.body = h('div', { class: 'info-body' });
    this.el = h('aside', { class: 'info-panel', id: 'info-panel', 'aria-label': 'Chat info', tabindex: '-1' },
      h('header', { class: 'info-head' }, iconButton('close', 'Close info', () => ctx.closeInfo()), h('h2', { text: 'Info' })),
      this.body);
    this.el.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { ev.preventDefault(); ctx.closeInfo(); } });
    this.onChat = (ev) => {
      if (ev.detail.id !== this.id) return;
      this.render();
      // Someone joined or left: the member list is out of date.
      const n = this.cs.full?.member_count;
      if (this.members && n != null && n !== this.members.length && this.members.length < 100) this.loadMembers();
    };
    ctx.store.addEventListener('chat', this.onChat);
    this.links = null;
    this.members = null;
    this.render();
    this.load();
  }

  destroy() {
    this.ctx.store.removeEventListener('chat', this.onChat);
    this.el.remove();
  }

  get isAdmin() { return ['creator', 'administrator'].includes(this.cs.full?.my_status); }
  get isMember() { return ['creator', 'administrator', 'member'].includes(this.cs.full?.my_status); }
  get canInvite() {
    return this.isAdmin || (this.cs.chat.type === 'group' && this.isMember && !!this.cs.full?.permissions?.can_invite_users);
  }

  async load() {
    const { store, api } = this.ctx;
    try {
      if (this.cs.chat.type === 'private') {
        const [u, blocked] = await Promise.all([api.call('getUser', { user_id: this.id }),
          api.call('getBlockedUsers').catch(() => [])]);
        this.user = u;
        this.blocked = blocked.some((x) => x.id === this.id);
        this.render();
        return;
      }
      await store.loadFull(this.id);
      const jobs = [];
      if (this.isAdmin) jobs.push(api.call('getChatInviteLinks', { chat_id: this.id }).then((l) => { this.links = l; }, () => {}));
      if (this.cs.chat.type === 'group' || this.isAdmin) {
        jobs.push(api.call('getChatMembers', { chat_id: this.id, limit: 100 }).then((l) => { this.members = l; }, () => {}));
      }
      await Promise.all(jobs);
      this.render();
    } catch (e) {
      clear(this.body).append(h('p', { class: 'form-error', text: errorText(e) }));
    }
  }

  async loadMembers() {
    if (this.loadingMembers) return;
    this.loadingMembers = true;
    try {
      this.members = await this.ctx.api.call('getChatMembers', { chat_id: this.id, limit: 100 });
      this.render();
    } catch { /* keep the old list */ } finally { this.loadingMembers = false; }
  }

  render() {
    const { store } = this.ctx;
    const cs = this.cs;
    const name = store.title(cs);
    clear(this.body);
    let sub = '';
    if (cs.chat.type === 'private') {
      const p = store.presence.get(cs.id);
      sub = store.isSelf(cs) ? 'your own notes' : p?.status === 'online' ? 'online' : p?.status === 'offline' ? fmtLastSeen(p.last_seen) : '';
    } else sub = membersText(cs);
    this.body.append(h('div', { class: 'info-card' }, avatar(cs.id, name, 'xl', store.isSelf(cs) ? 'saved' : null),
      h('h3', { class: 'info-name', id: 'info-name', text: name }), h('div', { class: 'muted', id: 'info-sub', text: sub })));

    const rows = h('dl', { class: 'info-rows' });
    const row = (label, value, ic) => rows.append(h('div', { class: 'info-row' }, icon(ic || 'info'),
      h('div', {}, h('dd', { text: value }), h('dt', { text: label }))));
    if (cs.chat.type === 'private') {
      const u = this.user;
      if (cs.chat.username || u?.username) row('Username', '@' + (u?.username || cs.chat.username), 'person');
      if (u?.bio) row('Bio', u.bio);
    } else {
      if (cs.full?.description) row('Description', cs.full.description);
      if (cs.chat.username) row('Public link', '@' + cs.chat.username, 'link');
      else row('Type', cs.chat.type === 'channel' ? 'Private channel' : 'Private group', cs.chat.type === 'channel' ? 'channel' : 'group');
    }
    if (rows.firstChild) this.body.append(rows);

    if (cs.chat.type !== 'private' && this.canInvite) this.body.append(this.renderLinks());
    if (cs.chat.type !== 'private' && (this.members || this.canInvite)) this.body.append(this.renderMembers());

    const actions = h('div', { class: 'info-actions' });
    if (cs.chat.type === 'private' && !store.isSelf(cs)) {
      actions.append(h('button', { type: 'button', class: 'btn btn-danger-plain btn-wide', id: 'block-user',
        text: this.blocked ? 'Unblock user' : 'Block user', onclick: () => this.block() }));
    } else if (cs.chat.type !== 'private' && this.isMember) {
      const what = cs.chat.type === 'channel' ? 'channel' : 'group';
      actions.append(h('button', { type: 'button', class: 'btn btn-danger-plain btn-wide', id: 'leave-chat',
        onclick: () => this.leave() }, icon('leave'), ` Leave ${what}`));
    }
    if (actions.firstChild) this.body.append(actions);
  }

  renderLinks() {
    const sec = h('section', { class: 'info-section', id: 'invite-links' }, h('h4', { text: 'Invite links' }));
    const create = h('button', { type: 'button', class: 'btn btn-plain btn-wide', id: 'create-link',
      onclick: () => this.createLink() }, icon('link'), ' Create invite link');
    sec.append(create);
    const list = h('ul', { class: 'link-list' });
    for (const l of this.links || []) {
      const code = l.invite_link;
      list.append(h('li', { class: 'link-row' + (l.is_revoked ? ' revoked' : ''), dataset: { link: code } },
        h('div', { class: 'link-main' },
          h('span', { class: 'mono link-url', text: code.replace(/^https?:\/\//, ''), title: code }),
          h('span', { class: 'muted small', text: [l.is_primary ? 'primary' : '', l.name || '', plural(l.usage || 0, 'join', 'joins'),
            l.member_limit ? `limit ${l.member_limit}` : '', l.expire_date ? 'until ' + fmtFull(l.expire_date) : '',
            l.is_revoked ? 'revoked' : ''].filter(Boolean).join(' · ') })),
        l.is_revoked ? null : h('span', { class: 'link-btns' },
          iconButton('copy', 'Copy link', () => copyText(code), 'copy-link'),
          iconButton('trash', 'Revoke link', () => this.revokeLink(code), 'revoke-link'))));
    }
    if (list.firstChild) sec.append(list);
    return sec;
  }

  async createLink() {
    try {
      const l = await this.ctx.api.call('createChatInviteLink', { chat_id: this.id });
      if (this.isAdmin) this.links = [l, ...(this.links || [])];
      else this.links = [l, ...(this.links || [])];
      this.render();
      copyText(l.invite_link);
    } catch (e) { toast(errorText(e), 'error'); }
  }

  async revokeLink(link) {
    const ok = await confirmModal('Revoke link', 'Nobody will be able to join with this link any more.',
      [{ label: 'Cancel', value: false }, { label: 'Revoke', value: true, danger: true }]);
    if (!ok) return;
    try {
      const l = await this.ctx.api.call('revokeChatInviteLink', { chat_id: this.id, invite_link: link });
      this.links = (this.links || []).map((x) => (x.invite_link === link ? l : x));
      this.render();
      toast('Link revoked');
    } catch (e) { toast(errorText(e), 'error'); }
  }

  renderMembers() {
    const { store } = this.ctx;
    const kind = this.cs.chat.type === 'channel' ? 'Subscribers' : 'Members';
    const sec = h('section', { class: 'info-section', id: 'members' }, h('h4', { text: kind }));
    if (this.canInvite) {
      sec.append(h('button', { type: 'button', class: 'btn btn-plain btn-wide', id: 'add-members-btn',
        onclick: () => addMembersModal(this.ctx, this.id) }, icon('addUser'), ` Add ${kind.toLowerCase()}`));
    }
    const list = h('ul', { class: 'member-list' });
    for (const mem of this.members || []) {
      const u = mem.user;
      const nm = u.id === store.me.id ? (u.first_name + ' (you)') : u.first_name;
      list.append(h('li', {}, h('button', { type: 'button', class: 'member-row', disabled: u.id === store.me.id,
        onclick: () => this.ctx.openUser(u) },
      avatar(u.id, u.first_name, 'sm'), h('span', { class: 'result-main' }, h('span', { class: 'name', text: nm }),
        h('span', { class: 'muted small', text: '@' + (u.username || '') })),
      STATUS_WORDS[mem.status] ? h('span', { class: 'tag', text: STATUS_WORDS[mem.status] }) : null)));
    }
    if (list.firstChild) sec.append(list);
    return sec;
  }

  async leave() {
    const what = this.cs.chat.type === 'channel' ? 'channel' : 'group';
    const ok = await confirmModal(`Leave ${what}`, `Leave “${this.ctx.store.title(this.cs)}”?`,
      [{ label: 'Cancel', value: false }, { label: 'Leave', value: true, danger: true }]);
    if (!ok) return;
    try {
      await this.ctx.api.call('leaveChat', { chat_id: this.id });
      this.cs.left = true;
      this.cs.listed = false;
      if (this.cs.full) this.cs.full.my_status = 'left';
      this.ctx.store.emitChats();
      this.ctx.closeInfo();
      this.ctx.closeChat();
      toast(`You left the ${what}`);
    } catch (e) { toast(errorText(e), 'error'); }
  }

  async block() {
    if (this.blocked) {
      try {
        await this.ctx.api.call('unblockUser', { user_id: this.id });
        this.blocked = false;
        this.render();
        toast('User unblocked');
      } catch (e) { toast(errorText(e), 'error'); }
      return;
    }
    const ok = await confirmModal('Block user', 'They will no longer be able to message you or add you to chats.',
      [{ label: 'Cancel', value: false }, { label: 'Block', value: true, danger: true }]);
    if (!ok) return;
    try {
      await this.ctx.api.call('blockUser', { user_id: this.id });
      this.blocked = true;
      this.render();
      toast('User blocked');
    } catch (e) { toast(errorText(e), 'error'); }
  }
}
