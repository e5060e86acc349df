// Photos and files: a PNG picked with the file picker reaches the other side
// live as a thumbnail (loaded through the token-checked /file/ route), opens
// in the full-size viewer (Esc closes); a document (picked, and dropped onto
// the conversation) shows its name and size and downloads with the same
// bytes; an upload the server refuses shows why.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { readFile } from 'node:fs/promises';
import { launch, register, signedIn, api, waitText, clean, until } from './lib.mjs';

let browser, A, B, alice, bob;

/* A W×H RGB PNG with a gradient, built byte by byte. */
function png(w, hgt) {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; table[n] = c; }
  const crc = (buf) => { let c = -1; for (const b of buf) c = table[(c ^ b) & 255] ^ (c >>> 8); return (c ^ -1) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(hgt, 4);
  ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
  const raw = Buffer.alloc((w * 3 + 1) * hgt);
  for (let y = 0; y < hgt; y++) {
    const row = y * (w * 3 + 1);
    for (let x = 0; x < w; x++) {
      raw[row + 1 + x * 3] = (x * 255 / w) | 0;
      raw[row + 2 + x * 3] = (y * 255 / hgt) | 0;
      raw[row + 3 + x * 3] = 160;
    }
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

before(async () => {
  browser = await launch();
  [A, B] = await Promise.all([register('media_alice', 'Alice'), register('media_bob', 'Bob')]);
  await api('sendMessage', { chat_id: B.user.id, text: 'hi' }, A.token);
  [alice, bob] = await Promise.all([signedIn(browser, A, { path: `/#/c/${B.user.id}` }), signedIn(browser, B, { path: `/#/c/${A.user.id}` })]);
  await waitText(alice.page, 'hi');
  await waitText(bob.page, 'hi');
});
after(async () => { await browser?.close(); });

test('a photo sent with the picker appears for the other side as a thumbnail; the viewer opens and closes', async () => {
  const a = alice.page, b = bob.page;
  await a.fill('#composer', 'sunset');
  await a.setInputFiles('#attach-input', { name: 'sunset.png', mimeType: 'image/png', buffer: png(200, 150) });
  // The sender sees it too, with the caption; the composer is emptied.
  const mine = a.locator('#msg-list .msg.has-photo', { hasText: 'sunset' });
  await mine.waitFor({ timeout: 15000 });
  assert.equal(await a.inputValue('#composer'), '');
  await until(async () => (await a.locator('#uploads .upload').count()) === 0);

  const theirs = b.locator('#msg-list .msg.has-photo', { hasText: 'sunset' });
  await theirs.waitFor({ timeout: 15000 });
  const img = theirs.locator('.media-photo img');
  await until(() => img.evaluate((el) => el.complete && el.naturalWidth > 0));
  const shown = await img.evaluate((el) => ({ src: el.src, w: el.naturalWidth, h: el.naturalHeight }));
  assert.match(shown.src, /^blob:/, 'loaded through fetch with the token, not a token in a URL');
  assert.equal(shown.w, 200);
  assert.equal(shown.h, 150);
  // The chat list's preview says it is a photo.
  await b.locator('.chat-row', { hasText: 'Photo, sunset' }).first().waitFor();

  // Keyboard: the thumbnail is a button; Enter opens the viewer, Esc closes it.
  await theirs.locator('.media-photo').focus();
  await b.keyboard.press('Enter');
  const viewer = b.locator('dialog.viewer[open]');
  await viewer.waitFor();
  await until(() => viewer.locator('.viewer-img').evaluate((el) => el.naturalWidth === 200));
  assert.equal(await b.locator('.menu').count(), 0, 'Enter on the photo opens the viewer, not the message menu');
  await b.keyboard.press('Escape');
  await viewer.waitFor({ state: 'detached' });
  // And by mouse.
  await theirs.locator('.media-photo').click();
  await viewer.waitFor();
  await viewer.locator('.viewer-close').click();
  await viewer.waitFor({ state: 'detached' });
  clean(alice, bob);
});

test('a document shows its name and size and downloads with the same bytes', async () => {
  const a = alice.page, b = bob.page;
  const bytes = Buffer.from('Quarterly numbers\n' + 'x'.repeat(5000) + '\n\u0001\u0002 binary tail\n');
  await a.setInputFiles('#attach-input', { name: 'report.txt', mimeType: 'text/plain', buffer: bytes });
  const doc = b.locator('#msg-list .msg .media-doc', { hasText: 'report.txt' });
  await doc.waitFor({ timeout: 15000 });
  assert.match(await doc.locator('.doc-size').textContent(), /KB/);
  const [dl] = await Promise.all([b.waitForEvent('download'), doc.locator('.doc-icon').click()]);
  assert.equal(dl.suggestedFilename(), 'report.txt');
  const got = await readFile(await dl.path());
  assert.ok(got.equals(bytes), 'downloaded bytes are the sent bytes');
  clean(alice, bob);
});

test('a file dropped onto the conversation is sent', async () => {
  const a = alice.page, b = bob.page;
  await a.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['dropped bytes'], 'dropped.csv', { type: 'text/csv' }));
    const target = document.querySelector('#messages');
    for (const type of ['dragenter', 'dragover', 'drop']) {
      target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
    }
  });
  await b.locator('#msg-list .msg .media-doc', { hasText: 'dropped.csv' }).waitFor({ timeout: 15000 });
  assert.equal(await a.locator('.drop-zone').isHidden(), true);
  clean(alice, bob);
});

test('a refused upload says why', async () => {
  const a = alice.page;
  // Not a picture at all, though named and typed as one: refused by its bytes.
  await a.setInputFiles('#attach-input', { name: 'fake.png', mimeType: 'image/png', buffer: Buffer.from('this is not a png, just text') });
  const row = a.locator('#uploads .upload.failed', { hasText: 'fake.png' });
  await row.waitFor({ timeout: 15000 });
  assert.match(await row.locator('.upload-status').textContent(), /photo|picture/i);
  await row.locator('.upload-cancel').click();
  await row.waitFor({ state: 'detached' });
  clean(alice, bob);
});
