// format.js — words for messages that are not plain text: service messages
// (joins, pins, titles), previews in the chat list, forward headers.

/* A service message as a sentence, or null for an ordinary message. */
export function serviceText(store, cs, m) {
  const who = m.from ? store.userName(m.from) : store.title(cs);
  const names = (list) => list.map((u) => store.userName(u)).join(', ');
  const kind = cs.chat.type === 'channel' ? 'channel' : 'group';
  if (m.group_chat_created) return `${who} created the group`;
  if (m.channel_chat_created) return 'Channel created';
  if (m.new_chat_members) {
    if (m.joined_by_self) return `${names(m.new_chat_members)} joined the ${kind}`;
    return `${who} added ${names(m.new_chat_members)}`;
  }
  if (m.left_chat_member) {
    if (m.from && m.from.id === m.left_chat_member.id) return `${who} left the ${kind}`;
    return `${who} removed ${store.userName(m.left_chat_member)}`;
  }
  if (m.new_chat_title != null) return `${who} changed the ${kind} name to “${m.new_chat_title}”`;
  if (m.pinned_message || m.pinned_message_id) {
    const p = m.pinned_message || store.chats.get(cs.id)?.msgs?.byId.get(m.pinned_message_id);
    if (p && p.text) return `${who} pinned “${snippet(p.text, 40)}”`;
    return `${who} pinned a message`;
  }
  return null;
}

export function isService(m) {
  return m.text == null && (m.group_chat_created || m.channel_chat_created || m.new_chat_members ||
    m.left_chat_member || m.new_chat_title != null || m.pinned_message || m.pinned_message_id);
}

export function snippet(text, n = 80) {
  const s = String(text || '').replace(/\s+/g, ' ').trim();
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/* "Forwarded from Ann" / "Forwarded from News". */
export function forwardFrom(store, origin) {
  if (!origin) return '';
  if (origin.type === 'channel' && origin.chat) return origin.chat.title || 'a channel';
  if (origin.sender_user) return store.userName(origin.sender_user);
  return 'someone';
}

/* A message in one line, for previews and quotes. */
export function previewText(store, cs, m) {
  if (!m) return '';
  const s = serviceText(store, cs, m);
  if (s) return s;
  const caption = m.text ?? m.caption ?? '';
  if (m.photo) return caption ? 'Photo, ' + snippet(caption, 112) : 'Photo';
  const file = m.document || m.video || m.voice;
  if (file) return (m.voice ? 'Voice message' : file.file_name || (m.video ? 'Video' : 'File')) + (caption ? ', ' + snippet(caption, 100) : '');
  return snippet(caption, 120) || 'Message';
}
