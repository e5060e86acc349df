// format.js — words and small pieces shared by the console's screens:
// categories, actions, people, chats, targets, times, statements of reasons.

import { h } from './dom.js';

export const CATEGORIES = [
  ['child_sexual_abuse', 'Child sexual abuse material'],
  ['terrorist_content', 'Terrorist content'],
  ['non_consensual_imagery', 'Non-consensual intimate imagery'],
  ['violence', 'Violence'],
  ['illegal_goods', 'Illegal goods and drugs'],
  ['hate', 'Hate speech'],
  ['scams_fraud', 'Scams and fraud'],
  ['privacy_violation', 'Privacy violation'],
  ['intellectual_property', 'Intellectual property'],
  ['other', 'Other violation of the terms'],
  ['spam', 'Spam'],
];
const CAT = new Map(CATEGORIES);
export const categoryName = (c) => CAT.get(c) || c || 'Unknown';

export const ACTIONS = {
  remove_message: { label: 'Remove message', verb: 'Hidden from everyone; kept in the store so that an appeal can restore it.', danger: true },
  remove_user_messages: { label: 'Remove all their messages here', verb: 'Every message the sender has in this chat is hidden from everyone.', danger: true },
  restrict: { label: 'Restrict in territories', verb: 'Withheld in the listed territories only; unchanged elsewhere.', danger: true },
  ban_chat: { label: 'Ban the chat', verb: 'The group or channel is closed to everyone, its members and admins included.', danger: true },
  suspend_user: { label: 'Suspend the account', verb: 'The account cannot be used, for a number of days or for good; its sessions are closed.', danger: true },
  warn_user: { label: 'Warn the user', verb: 'A warning to the account holder: the statement of reasons is the warning.' },
  dismiss: { label: 'Dismiss', verb: 'No action; the notifiers are told why.' },
  reversal: { label: 'Reversal', verb: 'Reversal of an earlier decision.' },
};
export const actionName = (a) => ACTIONS[a]?.label || a;

export const ROLES = ['moderator', 'senior_moderator', 'admin'];
export const ROLE_NAMES = { moderator: 'Moderator', senior_moderator: 'Senior moderator', admin: 'Admin' };
export const roleRank = (r) => ROLES.indexOf(r) + 1;

const KINDS = { report: 'User report', notice: 'Notice (DSA Art. 16)', trusted_flagger: 'Trusted flagger notice' };
export const kindName = (k) => KINDS[k] || k;

/* "Ann (@ann, id 4)" — built from untrusted names, as text. */
export function userName(u) {
  if (!u) return 'nobody';
  const name = [u.first_name, u.last_name].filter(Boolean).join(' ') || 'Deleted Account';
  const bits = [u.username ? '@' + u.username : null, u.id ? 'id ' + u.id : null].filter(Boolean).join(', ');
  return bits ? `${name} (${bits})` : name;
}

export function userBadges(u) {
  if (!u) return null;
  const out = [];
  if (u.suspended_until < 0) out.push(h('span', { class: 'badge bad' }, 'suspended permanently'));
  else if (u.suspended_until > now()) out.push(h('span', { class: 'badge bad' }, 'suspended until ' + when(u.suspended_until)));
  else if (u.suspended_until) out.push(h('span', { class: 'badge' }, 'suspension ended ' + when(u.suspended_until)));
  if (u.country) out.push(h('span', { class: 'badge' }, 'country ' + u.country));
  return out;
}

export function chatName(c) {
  if (!c) return 'a chat';
  if (c.type === 'private') {
    const [a, b] = c.users || [];
    return `private chat between ${userName(a)} and ${userName(b)}`;
  }
  const kind = c.type === 'channel' ? 'channel' : 'group';
  return `${kind} “${c.title || ''}”` + (c.username ? ` @${c.username}` : '') + (c.id ? ` (id ${c.id})` : '');
}

export function targetName(t) {
  if (!t) return '';
  if (t.type === 'message') return `Message #${t.message_id} in ${chatName(t.chat)}`;
  if (t.type === 'chat') return chatName(t.chat).replace(/^./, (c) => c.toUpperCase());
  if (t.type === 'user') return 'Account ' + userName(t.user);
  return t.type;
}

/* A short label for the queue's target column. */
export function targetShort(t) {
  if (!t) return '';
  if (t.type === 'message') {
    const c = t.chat;
    const where = !c ? 'a chat' : c.type === 'private' ? 'private chat' : `${c.type === 'channel' ? 'channel' : 'group'} “${c.title || ''}”`;
    return `Message #${t.message_id} · ${where}`;
  }
  if (t.type === 'chat') return chatName(t.chat);
  return 'Account ' + userName(t.user);
}

const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function when(t) {
  if (!t) return '—';
  return dtf.format(new Date(t * 1000));
}

export const now = () => Math.floor(Date.now() / 1000);

/* 90 → "2 min", 7200 → "2 h", 3 days → "3 d". */
export function span(sec) {
  sec = Math.abs(sec);
  if (sec < 60) return `${sec} s`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min`;
  if (sec < 86400 * 2) return `${Math.floor(sec / 3600)} h ${Math.floor((sec % 3600) / 60)} min`;
  return `${Math.floor(sec / 86400)} d`;
}

export function relative(t) {
  const d = t - now();
  return d >= 0 ? 'in ' + span(d) : span(d) + ' ago';
}

export function time(t, { rel = false } = {}) {
  if (!t) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: new Date(t * 1000).toISOString(), title: new Date(t * 1000).toISOString() },
    rel ? relative(t) : when(t));
}

/* A statement of reasons: the key fields, then its full text as sent. */
export function statementView(st, { title, current } = {}) {
  if (!st) return null;
  const ground = st.ground === 'illegal' ? `Illegal content — ${st.legal_provision || ''}`
    : st.ground === 'terms' ? `Terms of service — ${st.terms_clause || ''}` : 'None (no action)';
  const scope = Array.isArray(st.territorial_scope) ? st.territorial_scope.join(', ') : st.territorial_scope;
  const rows = [
    ['Decision', actionName(st.action) + (st.permanent === true ? ' (permanent)' : '')],
    ['Category', categoryName(st.category)],
    ['Ground', ground],
    ['Facts', st.facts || '—'],
    ['Manifestly illegal', st.manifestly_illegal ? 'yes' : 'no'],
    ['Territorial scope', scope || 'worldwide'],
    ['Source', st.source || '—'],
    ['Automated', `detection ${st.automated_detection ? 'yes' : 'no'}, decision ${st.automated_decision ? 'yes' : 'no'}`],
    ['Decided', when(st.created_at) + (st.decided_by ? ' by ' + userName(st.decided_by) : '')],
  ];
  if (st.end_date) rows.push(['Ends', when(st.end_date)]);
  if (st.appeal_until) rows.push(['Appeal until', when(st.appeal_until)]);
  if (st.reverses) rows.push(['Reverses', 'statement #' + st.reverses]);
  if (st.reversed_by) rows.push(['Reversed by', 'statement #' + st.reversed_by]);
  return h('article', { class: 'statement' + (st.reversed_by ? ' reversed' : ''), dataset: { statementId: st.statement_id } },
    h('h3', null, title || `Statement of reasons #${st.statement_id}`,
      current ? h('span', { class: 'badge' }, 'this case') : null,
      st.reversed_by ? h('span', { class: 'badge warn' }, 'reversed') : null),
    h('dl', { class: 'kv' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
    st.text ? h('details', { class: 'statement-text' }, h('summary', null, 'Full text as sent to the user'),
      h('pre', null, st.text)) : null);
}

export function empty(text) {
  return h('p', { class: 'empty' }, text);
}
