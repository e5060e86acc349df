// media.js — photos and files in a conversation (docs/media.md): uploads
// with sendPhoto / sendDocument as multipart/form-data over XMLHttpRequest
// (for the progress bar and cancel), thumbnails, the full-size viewer and
// downloads.  Files are fetched with the session's Authorization header and
// shown from blob: URLs, so the token never goes into a URL.

import { h, icon, iconButton, toast } from '../dom.js';
import { ApiError, NetworkError, errorText } from '../api.js';

// The types sendPhoto takes; any other file (GIF, SVG, ...) goes as a document.
const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp'];
const THUMB_BOX = 320;         // px: a thumbnail fits in this square (CSS px)

export function isPhotoFile(file) { return PHOTO_TYPES.includes(file.type); }

export function fmtSize(n) {
  n = Number(n) || 0;
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < units.length - 1);
  return `${n < 10 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

/* Words for an upload's failure, for a person. */
export function uploadErrorText(e, file) {
  switch (e?.code) {
  case 'FILE_TOO_BIG': return `${file.name} is too large to send`;
  case 'FILE_TYPE_INVALID': return `${file.name}: this kind of file cannot be sent as a photo`;
  case 'PHOTO_INVALID': return `${file.name}: this picture cannot be read (damaged, or not JPEG, PNG or WebP)`;
  case 'PHOTO_INVALID_DIMENSIONS': return `${file.name}: the picture has too many pixels`;
  case 'FILE_EMPTY': return `${file.name} is empty`;
  default: return `${file.name}: ${errorText(e)}`;
  }
}

/* Sends one file: returns {promise (the Message), abort()}.  onProgress gets
 * the fraction of the body sent (0..1). */
export function uploadFile(api, chatId, file, { caption, replyTo, onProgress } = {}) {
  const photo = isPhotoFile(file);
  const method = photo ? 'sendPhoto' : 'sendDocument';
  const form = new FormData();
  form.append('chat_id', String(chatId));
  if (caption) form.append('caption', caption);
  if (replyTo) form.append('reply_to_message_id', String(replyTo));
  form.append(photo ? 'photo' : 'document', file, file.name || (photo ? 'photo' : 'file'));
  const xhr = new XMLHttpRequest();
  let aborted = false;
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', '/api/' + method);
    if (api.token) xhr.setRequestHeader('Authorization', 'Bearer ' + api.token);
    xhr.responseType = 'text';
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable && ev.total) onProgress?.(ev.loaded / ev.total); };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (body?.ok) { resolve(body.result); return; }
      if (!body) {
        if (xhr.status === 413) { reject(new ApiError('FILE_TOO_BIG', 413, 'FILE_TOO_BIG: the file is too large')); return; }
        reject(xhr.status >= 500 ? new ApiError('SERVER_BUSY', xhr.status, 'SERVER_BUSY: the server is not answering properly')
          : new NetworkError(new Error('bad answer')));
        return;
      }
      const desc = String(body.description || 'INTERNAL');
      if (xhr.status === 401) api.onUnauthorized?.();
      reject(new ApiError(desc.split(':')[0].trim(), body.error_code || xhr.status, desc, body.parameters?.retry_after || 0));
    };
    xhr.onerror = () => reject(new NetworkError(new Error('upload failed')));
    xhr.ontimeout = xhr.onerror;
    xhr.onabort = () => { aborted = true; reject(Object.assign(new Error('Cancelled'), { cancelled: true })); };
    xhr.send(form);
  });
  return { promise, abort: () => { if (!aborted) xhr.abort(); }, photo, method };
}

// --- downloads ------------------------------------------------------------

const blobs = new Map();       // file_id -> Promise<blob: URL>

/* The file's bytes as a blob: URL (cached for the page's life). */
export function fileUrl(api, fileId) {
  let p = blobs.get(fileId);
  if (!p) {
    p = (async () => {
      const f = await api.call('getFile', { file_id: fileId });
      let res;
      try {
        res = await fetch('/file/' + f.file_path.split('/').map(encodeURIComponent).join('/'),
          { headers: { Authorization: 'Bearer ' + api.token } });
      } catch (e) { throw new NetworkError(e); }
      if (!res.ok) {
        let desc = `HTTP_${res.status}: the file cannot be downloaded`;
        try { const b = await res.json(); if (b.description) desc = b.description; } catch { /* not JSON */ }
        throw new ApiError(desc.split(':')[0].trim(), res.status, desc);
      }
      return URL.createObjectURL(await res.blob());
    })();
    blobs.set(fileId, p);
    p.catch(() => blobs.delete(fileId));
  }
  return p;
}

/* Saves a file under its name: fetched with the token, then an <a download>. */
export async function downloadFile(api, fileId, name) {
  try {
    const url = await fileUrl(api, fileId);
    const a = h('a', { href: url, download: name || 'file', hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) { toast(errorText(e), 'error'); }
}

// --- photos ----------------------------------------------------------------

/* The smallest size at least `want` px on its longer side, else the largest. */
export function pickSize(sizes, want) {
  const list = [...(sizes || [])].sort((a, b) => Math.max(a.width, a.height) - Math.max(b.width, b.height));
  return list.find((s) => Math.max(s.width, s.height) >= want) || list[list.length - 1];
}

export function largest(sizes) { return pickSize(sizes, Infinity); }

/* A photo in a message: a button with the best-fitting thumbnail; it opens
 * the viewer. */
export function photoThumb(ctx, m, caption) {
  const big = largest(m.photo);
  const scale = Math.min(1, THUMB_BOX / big.width, THUMB_BOX / big.height);
  const w = Math.max(1, Math.round(big.width * scale)), hgt = Math.max(1, Math.round(big.height * scale));
  const size = pickSize(m.photo, Math.max(w, hgt) * (window.devicePixelRatio || 1));
  const img = h('img', { alt: caption || 'Photo', width: w, height: hgt, decoding: 'async' });
  const btn = h('button', { type: 'button', class: 'media-photo loading', 'aria-label': 'Open photo' + (caption ? ': ' + caption : ''),
    onclick: (ev) => { ev.stopPropagation(); openViewer(ctx, m, caption); } }, img);
  btn.style.setProperty('--w', w + 'px');
  btn.style.setProperty('--ar', `${w} / ${hgt}`);
  fileUrl(ctx.api, size.file_id).then((url) => {
    img.addEventListener('load', () => btn.classList.remove('loading'), { once: true });
    img.src = url;
  }, (e) => {
    btn.classList.remove('loading');
    btn.classList.add('broken');
    btn.title = errorText(e);
  });
  return btn;
}

/* The full-size viewer: a modal <dialog> (Esc closes, focus stays inside). */
export function openViewer(ctx, m, caption) {
  const big = largest(m.photo);
  const img = h('img', { class: 'viewer-img', alt: caption || 'Photo', width: big.width, height: big.height });
  const dlg = h('dialog', { class: 'viewer', 'aria-label': 'Photo' });
  const close = () => { if (dlg.open) dlg.close(); };
  const name = `photo_${m.chat?.id || ''}_${m.message_id || ''}.jpg`;
  const bar = h('div', { class: 'viewer-bar' },
    h('span', { class: 'viewer-caption', text: caption || '' }),
    iconButton('download', 'Download', () => downloadFile(ctx.api, big.file_id, name), 'viewer-download'),
    iconButton('close', 'Close', close, 'viewer-close'));
  dlg.append(bar, h('div', { class: 'viewer-stage' }, img));
  dlg.addEventListener('click', (ev) => { if (ev.target === dlg || ev.target.classList.contains('viewer-stage')) close(); });
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  dlg.querySelector('.viewer-close').focus();
  fileUrl(ctx.api, big.file_id).then((url) => { img.src = url; }, (e) => toast(errorText(e), 'error'));
  return dlg;
}

// --- documents ---------------------------------------------------------------

export function docView(ctx, d) {
  const name = d.file_name || 'File';
  return h('div', { class: 'media-doc' },
    h('button', { type: 'button', class: 'doc-icon', 'aria-label': 'Download ' + name, title: 'Download',
      onclick: (ev) => { ev.stopPropagation(); downloadFile(ctx.api, d.file_id, name); } }, icon('download')),
    h('span', { class: 'doc-text' },
      h('span', { class: 'doc-name', text: name }),
      h('span', { class: 'doc-size', text: fmtSize(d.file_size) + (d.mime_type ? ' · ' + d.mime_type : '') })));
}
