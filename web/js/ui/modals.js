// modals.js — dialogs over the app: confirmations, new group / channel /
// message, forwarding, settings with sessions, joining by invite link.
// Each uses <dialog> (focus stays inside, Esc closes).

import { h, clear, icon, iconButton, avatar, fmtFull, toast, plural } from '../dom.js';
import { errorText } from '../api.js';

/* Opens a dialog; returns {el, close}.  onClose runs once. */
export function openModal({ title, body, actions, onClose, cls }) {
  const dlg = h('dialog', { class: 'modal' + (cls ? ' ' + cls : ''), 'aria-label': title });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    if (dlg.open) dlg.close();
    dlg.remove();
    onClose?.();
  };
  dlg.addEventListener('close', close);
  dlg.addEventListener('click', (ev) => { if (ev.target === dlg) close(); });
  const head = h('header', { class: 'modal-head' }, h('h2', { text: title }), iconButton('close', 'Close', close));
  const foot = actions && actions.length ? h('footer', { class: 'modal-foot' }, actions) : null;
  dlg.append(head, h('div', { class: 'modal-body' }, body), foot);
  document.body.append(dlg);
  dlg.showModal();
  const first = dlg.querySelector('input:not([type=hidden]), textarea, select') || dlg.querySelector('footer .btn-primary') ||
    dlg.querySelector('.modal-body button, footer button');
  if (first) first.focus();
  return { el: dlg, close };
}

export function confirmModal(title, text, buttons) {
  return new Promise((resolve) => {
    let result = null;
    const m = openModal({
      title,
      body: h('p', { text }),
      actions: buttons.map((b) => h('button', {
        type: 'button', class: 'btn ' + (b.danger ? 'btn-danger' : b.primary ? 'btn-primary' : 'btn-plain'),
        text: b.label, onclick: () => { result = b.value; m.close(); },
      })),
      onClose: () => resolve(result),
    });
  });
}

function field(label, input, hint) {
  return h('label', { class: 'field' }, h('span', { text: label }), input, hint ? h('small', { class: 'hint', text: hint }) : null);
}

/* Looks up users named in free text ("@ann bob, carol"); throws with the
 * names that do not exist. */
export async function resolveUsers(api, text) {
  const names = [...new Set(text.split(/[\s,;]+/).map((s) => s.replace(/^@/, '').trim()).filter(Boolean))];
  const found = [], missing = [];
  await Promise.all(names.map(async (n) => {
    try { found.push(await api.call('getUser', { username: n })); } catch { missing.push(n); }
  }));
  if (missing.length) throw new Error(`No user named ${missing.map((n) => '@' + n).join(', ')}`);
  return found;
}

function formModal(title, fields, submitLabel, onSubmit) {
  const err = h('p', { class: 'form-error', role: 'alert' });
  const btn = h('button', { type: 'submit', class: 'btn btn-primary', text: submitLabel });
  const form = h('form', { class: 'modal-form' }, fields, err, h('div', { class: 'form-actions' }, btn));
  const m = openModal({ title, body: form });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    btn.disabled = true;
    try {
      await onSubmit();
      m.close();
    } catch (e) {
      err.textContent = errorText(e);
      btn.disabled = false;
    }
  });
  return m;
}

export function newGroupModal(ctx) {
  const title = h('input', { id: 'group-title', maxlength: 64, required: true, placeholder: 'Group name' });
  const members = h('input', { id: 'group-members', placeholder: '@username, @another', autocapitalize: 'none' });
  formModal('New group', [field('Name', title), field('Members', members, 'Usernames, separated by spaces or commas')],
    'Create group', async () => {
      if (!title.value.trim()) throw new Error('The group needs a name.');
      const users = members.value.trim() ? await resolveUsers(ctx.api, members.value) : [];
      const chat = await ctx.api.call('createGroup', { title: title.value.trim(), user_ids: users.map((u) => u.id) });
      ctx.store.mergeChat(chat).listed = true;
      ctx.store.emitChats();
      ctx.openChat(chat.id);
    });
}

export function newChannelModal(ctx) {
  const title = h('input', { id: 'channel-title', maxlength: 64, required: true, placeholder: 'Channel name' });
  const desc = h('textarea', { id: 'channel-desc', maxlength: 255, rows: 2, placeholder: 'What is it about? (optional)' });
  const uname = h('input', { id: 'channel-username', maxlength: 32, placeholder: 'public_name (optional)', autocapitalize: 'none' });
  formModal('New channel', [field('Name', title), field('Description', desc),
    field('Public link', uname, 'With a username anyone can find and join it; leave empty for a private channel')],
  'Create channel', async () => {
    if (!title.value.trim()) throw new Error('The channel needs a name.');
    const params = { title: title.value.trim() };
    if (desc.value.trim()) params.description = desc.value.trim();
    if (uname.value.trim()) params.username = uname.value.trim().replace(/^@/, '');
    const chat = await ctx.api.call('createChannel', params);
    ctx.store.mergeChat(chat).listed = true;
    ctx.store.emitChats();
    ctx.sync.refreshLargeChats();
    ctx.openChat(chat.id);
  });
}

export function newMessageModal(ctx) {
  const uname = h('input', { id: 'new-message-username', placeholder: '@username', autocapitalize: 'none' });
  formModal('New message', [field('To', uname)], 'Start chat', async () => {
    const [u] = await resolveUsers(ctx.api, uname.value);
    if (!u) throw new Error('Enter a username.');
    ctx.openUser(u);
  });
}

export function addMembersModal(ctx, chatId) {
  const members = h('input', { id: 'add-members', placeholder: '@username, @another', autocapitalize: 'none' });
  formModal('Add members', [field('Usernames', members)], 'Add', async () => {
    const users = await resolveUsers(ctx.api, members.value);
    if (!users.length) throw new Error('Enter at least one username.');
    await ctx.api.call('addChatMembers', { chat_id: chatId, user_ids: users.map((u) => u.id) });
    toast(users.length === 1 ? `${users[0].first_name} was added` : `${users.length} members were added`);
    ctx.store.loadFull(chatId).catch(() => {});
  });
}

export function forwardModal(ctx, fromChatId, msgIds) {
  const list = h('div', { class: 'pick-list', role: 'listbox', 'aria-label': 'Chats' });
  const filter = h('input', { type: 'search', placeholder: 'Search chats', 'aria-label': 'Search chats' });
  const m = openModal({ title: 'Forward to…', body: [filter, list] });
  function render() {
    clear(list);
    const q = filter.value.trim().toLowerCase();
    for (const cs of ctx.store.sortedChats()) {
      const name = ctx.store.title(cs);
      if (q && !name.toLowerCase().includes(q)) continue;
      if (cs.chat.type === 'channel' && !['creator', 'administrator'].includes(cs.full?.my_status)) {
        if (cs.full) continue;
      }
      list.append(h('button', {
        type: 'button', class: 'pick-row', onclick: async () => {
          try {
            for (const id of msgIds) {
              await ctx.api.call('forwardMessage', { chat_id: cs.id, from_chat_id: fromChatId, message_id: id });
            }
            m.close();
            toast(`Forwarded to ${name}`);
            ctx.openChat(cs.id);
          } catch (e) { toast(errorText(e), 'error'); }
        },
      }, avatar(cs.id, name, 'sm', ctx.store.isSelf(cs) ? 'saved' : null), h('span', { text: name })));
    }
    if (!list.firstChild) list.append(h('p', { class: 'empty', text: 'No chats' }));
  }
  filter.addEventListener('input', render);
  render();
}

export function deleteModal(ctx, chatId, msgIds, canRevoke) {
  const n = msgIds.length;
  const text = n === 1 ? 'Delete this message?' : `Delete ${n} messages?`;
  const buttons = [{ label: 'Cancel', value: null }];
  buttons.push({ label: canRevoke ? 'Delete for me' : 'Delete', value: 'me', danger: !canRevoke });
  if (canRevoke) buttons.push({ label: 'Delete for everyone', value: 'all', danger: true });
  return confirmModal('Delete', text, buttons).then(async (choice) => {
    if (!choice) return;
    try {
      await ctx.store.remove(chatId, msgIds, choice === 'all');
    } catch (e) { toast(errorText(e), 'error'); }
  });
}

export async function joinModal(ctx, code) {
  const err = h('p', { class: 'form-error', role: 'alert' });
  const join = h('button', { type: 'button', class: 'btn btn-primary', id: 'join-confirm', text: 'Join' });
  const m = openModal({
    title: 'Invite link',
    body: [h('div', { class: 'join-card' }, h('div', { class: 'join-icon' }, icon('link')),
      h('p', { text: 'You were invited to a chat on this server.' }),
      h('p', { class: 'mono', text: '+' + code })), err],
    actions: [h('button', { type: 'button', class: 'btn btn-plain', text: 'Not now', onclick: () => m.close() }), join],
  });
  join.addEventListener('click', async () => {
    join.disabled = true;
    err.textContent = '';
    try {
      const chat = await ctx.api.call('joinChat', { invite_link: code });
      ctx.store.mergeChat(chat).listed = true;
      ctx.store.chatState(chat.id).left = false;
      ctx.store.emitChats();
      ctx.sync.refreshLargeChats();
      m.close();
      ctx.openChat(chat.id);
    } catch (e) {
      if (e.code === 'USER_ALREADY_PARTICIPANT') err.textContent = 'You are already a member of this chat.';
      else err.textContent = errorText(e);
      join.disabled = false;
    }
  });
}

export function settingsModal(ctx) {
  const me = ctx.store.me;
  const name = h('input', { id: 'profile-name', maxlength: 64, value: me.first_name || '' });
  const bio = h('textarea', { id: 'profile-bio', maxlength: 255, rows: 2, value: me.bio || '' });
  const privacy = h('select', { id: 'privacy-last-seen' },
    h('option', { value: 'everybody', text: 'Everybody' }),
    h('option', { value: 'contacts', text: 'My contacts' }),
    h('option', { value: 'nobody', text: 'Nobody' }));
  const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Save profile' });
  const err = h('p', { class: 'form-error', role: 'alert' });
  const profile = h('form', { class: 'modal-form' },
    h('div', { class: 'profile-head' }, avatar(me.id, me.first_name, 'lg'),
      h('div', {}, h('strong', { text: me.first_name }), h('div', { class: 'muted', text: '@' + me.username }))),
    field('Display name', name), field('Bio', bio), err, saveBtn);
  profile.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    saveBtn.disabled = true;
    try {
      const u = await ctx.api.call('updateProfile', { display_name: name.value.trim(), bio: bio.value });
      Object.assign(me, u);
      ctx.saveMe?.(me);
      toast('Profile saved');
    } catch (e) { err.textContent = errorText(e); }
    saveBtn.disabled = false;
  });
  // The server does not say what the setting is; remember what was chosen here.
  const privacyKey = 'parley.privacy.' + me.id;
  privacy.value = localStorage.getItem(privacyKey) || 'everybody';
  privacy.addEventListener('change', async () => {
    try {
      await ctx.api.call('setPrivacy', { last_seen: privacy.value });
      localStorage.setItem(privacyKey, privacy.value);
      toast('Privacy saved');
    } catch (e) { toast(errorText(e), 'error'); }
  });

  const sessions = h('ul', { class: 'session-list', id: 'session-list', 'aria-live': 'polite' });
  async function loadSessions() {
    let list;
    try { list = await ctx.api.call('getSessions'); } catch (e) { clear(sessions).append(h('li', { text: errorText(e) })); return; }
    clear(sessions);
    list.sort((x, y) => (y.current ? 1 : 0) - (x.current ? 1 : 0)); // this device first
    for (const s of list) {
      const row = h('li', { class: 'session' + (s.current ? ' current' : ''), dataset: { id: s.id } },
        h('span', { class: 'session-icon' }, icon('devices')),
        h('div', { class: 'session-main' },
          h('strong', { text: s.device || 'Unnamed device' }),
          h('div', { class: 'muted', text: `${s.ip || 'unknown address'} · ${s.current ? 'this device' : 'active ' + fmtFull(s.last_seen)}` }),
          h('div', { class: 'muted small', text: 'Signed in ' + fmtFull(s.created_at) })),
        s.current ? h('span', { class: 'tag', text: 'Current' }) :
          h('button', { type: 'button', class: 'btn btn-danger-plain', text: 'Revoke', 'aria-label': `Revoke ${s.device || 'session'} ${s.id}`,
            onclick: async (ev) => {
              ev.currentTarget.disabled = true;
              try {
                await ctx.api.call('revokeSession', { session_id: s.id });
                row.remove();
                toast('Session ended');
              } catch (e) { toast(errorText(e), 'error'); ev.currentTarget.disabled = false; }
            } }));
      sessions.append(row);
    }
  }
  loadSessions();
  ctx.api.call('getMe').then((u) => {
    Object.assign(me, u);
    if (document.activeElement !== name) name.value = u.first_name || '';
    if (document.activeElement !== bio) bio.value = u.bio || '';
  }, () => {});

  openModal({
    title: 'Settings', cls: 'modal-wide',
    body: [
      h('section', { class: 'settings-section' }, h('h3', { text: 'Profile' }), profile),
      h('section', { class: 'settings-section' }, h('h3', { text: 'Privacy' }), field('Who sees when I was last online', privacy)),
      h('section', { class: 'settings-section' }, h('h3', { text: 'Devices' }), sessions),
      h('section', { class: 'settings-section' },
        h('button', { type: 'button', class: 'btn btn-danger-plain btn-wide', id: 'logout', onclick: () => ctx.logout() },
          icon('logout'), ' Log out')),
    ],
  });
}

export function membersText(cs) {
  const n = cs.full?.member_count;
  if (n == null) return cs.chat.type === 'channel' ? 'channel' : 'group';
  return cs.chat.type === 'channel' ? plural(n, 'subscriber', 'subscribers') : plural(n, 'member', 'members');
}
