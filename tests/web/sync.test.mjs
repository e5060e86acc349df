// Sync: a reload keeps the session and the place in the update sequence;
// going offline and coming back, or losing the WebSocket in the middle of a
// burst, loses nothing and doubles nothing (messages counted in the DOM);
// history pages in as one scrolls up.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, register, signedIn, api, online, send, texts, waitText, clean, until } from './lib.mjs';

let browser, A, B, alice, bob;

before(async () => {
  browser = await launch();
  [A, B] = await Promise.all([register('sync_alice', 'Alice'), register('sync_bob', 'Bob')]);
  await api('sendMessage', { chat_id: B.user.id, text: 'm0' }, A.token);
  [alice, bob] = await Promise.all([signedIn(browser, A, { path: `/#/c/${B.user.id}` }), signedIn(browser, B, { path: `/#/c/${A.user.id}` })]);
  await waitText(bob.page, 'm0');
});
after(async () => { await browser?.close(); });

/* Every delivered message once, in order, nothing left pending. */
async function settled(page, want) {
  await until(async () => JSON.stringify(await texts(page)) === JSON.stringify(want) &&
    (await page.locator('#pending-list .msg').count()) === 0, 15000).catch(async (e) => {
    assert.deepEqual(await texts(page), want, 'messages in the DOM');
    throw e;
  });
  const ids = await page.$$eval('#msg-list .msg[data-id]', (els) => els.map((e) => Number(e.dataset.id)));
  assert.equal(new Set(ids).size, ids.length, 'no message id twice');
  assert.deepEqual(ids, [...ids].sort((x, y) => x - y), 'in id order');
}

test('a reload keeps the session, the chat and the stored pts', async () => {
  const b = bob.page;
  const before = await b.evaluate(() => JSON.parse(localStorage.getItem(Object.keys(localStorage).find((k) => k.startsWith('parley.sync.')))).pts);
  assert.ok(before >= 1, 'pts stored in localStorage');
  await b.reload();
  await online(b);
  await waitText(b, 'm0');
  assert.match(await b.textContent('#chat-title'), /Alice/);
  await send(alice.page, 'after reload');
  await waitText(b, 'after reload');
  const after = await b.evaluate(() => JSON.parse(localStorage.getItem(Object.keys(localStorage).find((k) => k.startsWith('parley.sync.')))).pts);
  assert.ok(after > before, 'pts advanced');
  await settled(b, ['m0', 'after reload']);
});

test('offline and back: nothing lost, nothing doubled', async () => {
  const a = alice.page, b = bob.page;
  await bob.context.setOffline(true);
  await b.evaluate(() => window.parley.drop());
  await b.waitForSelector('body[data-conn="connecting"]');
  await b.waitForSelector('#conn-status:has-text("Connecting")');
  assert.equal(await b.textContent('#chat-sub'), 'connecting…');

  // Alice writes, edits and deletes while Bob is away; Bob writes too.
  for (let i = 1; i <= 5; i++) await send(a, `while away ${i}`);
  await waitText(a, 'while away 5');
  await a.locator('#msg-list .msg', { hasText: 'while away 2' }).click({ button: 'right' });
  await a.click('.menu-item:has-text("Edit")');
  await a.fill('#composer', 'while away 2 (edited)');
  await a.press('#composer', 'Enter');
  await waitText(a, 'while away 2 (edited)');
  await a.locator('#msg-list .msg', { hasText: 'while away 4' }).click({ button: 'right' });
  await a.click('.menu-item:has-text("Delete")');
  await a.click('.modal button:has-text("Delete for everyone")');
  await until(async () => !(await texts(a)).includes('while away 4'));
  await send(b, 'bob offline 1');
  await send(b, 'bob offline 2');
  assert.equal(await b.locator('#pending-list .msg').count(), 2, 'shown as pending');

  await bob.context.setOffline(false);
  await online(b, 20000);
  const want = ['m0', 'after reload', 'while away 1', 'while away 2 (edited)', 'while away 3', 'while away 5',
    'bob offline 1', 'bob offline 2'];
  await settled(b, want);
  await settled(a, want);
});

test('the socket drops in the middle of a burst: every message once', async () => {
  const a = alice.page, b = bob.page;
  const burst = [];
  for (let i = 1; i <= 30; i++) burst.push(`burst ${i}`);
  const sending = (async () => { for (const t of burst) await api('sendMessage', { chat_id: B.user.id, text: t }, A.token); })();
  await until(async () => (await texts(b)).includes('burst 5'));
  await b.evaluate(() => window.parley.drop());
  await new Promise((r) => setTimeout(r, 150));
  await b.evaluate(() => window.parley.drop()); // again, while reconnecting
  await sending;
  await online(b, 20000);
  const before = ['m0', 'after reload', 'while away 1', 'while away 2 (edited)', 'while away 3', 'while away 5',
    'bob offline 1', 'bob offline 2'];
  await settled(b, [...before, ...burst]);
  await settled(a, [...before, ...burst]);
  // The chat list has one row for this chat, with the last message.
  assert.equal(await b.locator('.chat-row').count(), 1);
  assert.match(await b.locator('.chat-row .preview').textContent(), /burst 30/);
  clean(alice, bob);
});

test('a lost push is a gap: filled from getDifference; a repeated push is dropped', async () => {
  const b = bob.page;
  // Lose the pushed frame of one message, keep a copy of the next one.
  await b.evaluate(() => {
    const sync = window.parley.sync;
    const orig = sync.onFrame.bind(sync);
    window.seen = [];
    sync.onFrame = (data) => {
      if (data.includes('gap-me')) return;              // lost on the way
      if (data.includes('after-gap')) window.seen.push(data);
      orig(data);
    };
  });
  await api('sendMessage', { chat_id: B.user.id, text: 'gap-me' }, A.token);
  await api('sendMessage', { chat_id: B.user.id, text: 'after-gap' }, A.token);
  await waitText(b, 'after-gap');
  await waitText(b, 'gap-me');
  // The same push again (a duplicate): nothing changes.
  await b.evaluate(() => window.parley.sync.onFrame(window.seen[0]));
  await new Promise((r) => setTimeout(r, 300));
  const t = await texts(b);
  assert.deepEqual(t.slice(-2), ['gap-me', 'after-gap']);
  assert.equal(t.filter((x) => x === 'after-gap').length, 1);
  await settled(b, t);
  clean(bob);
});

test('history: scrolling up pages through older messages', async () => {
  const [C, D] = await Promise.all([register('sync_carl', 'Carl'), register('sync_dora', 'Dora')]);
  const N = 130;
  for (let i = 1; i <= N; i++) await api('sendMessage', { chat_id: D.user.id, text: `old ${i}` }, C.token);
  // The dialog list answers late: its snapshot (130 unread) is taken before
  // the open chat marks itself read and arrives after, and must not bring the
  // badge back.
  const before = (page) => page.route('**/api/getDialogs', async (route) => {
    const res = await route.fetch();
    await new Promise((r) => setTimeout(r, 1500));
    await route.fulfill({ response: res });
  });
  const dora = await signedIn(browser, D, { path: `/#/c/${C.user.id}`, before });
  const p = dora.page;
  await waitText(p, `old ${N}`);
  const first = (await texts(p)).length;
  assert.ok(first >= 50 && first < N, `one page at first (${first})`);
  for (let i = 0; i < 10 && (await texts(p)).length < N; i++) {
    await p.evaluate(() => { document.getElementById('messages').scrollTop = 0; });
    await new Promise((r) => setTimeout(r, 250));
  }
  const all = await texts(p);
  assert.equal(all.length, N);
  assert.deepEqual(all, Array.from({ length: N }, (_, i) => `old ${i + 1}`));
  assert.ok((await p.locator('#msg-list .day').count()) >= 1, 'a date separator');
  // Marked read: the unread badge went away.
  await until(async () => (await p.locator('.chat-row .badge').count()) === 0);
  clean(dora);
});
