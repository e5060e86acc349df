// Channels: created in the app with a public username, found by search and
// joined; posts arrive live over the channel's own sequence, with
// subscriber and view counts; only admins can post.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, register, signedIn, uname, send, texts, waitText, clean, until } from './lib.mjs';

let browser, A, B, alice, bob;
const TITLE = 'Parley News';
const HANDLE = uname('news').replace(/_/g, '');

before(async () => {
  browser = await launch();
  [A, B] = await Promise.all([register('chan_alice', 'Alice'), register('chan_bob', 'Bob')]);
  [alice, bob] = await Promise.all([signedIn(browser, A), signedIn(browser, B, { viewport: { width: 390, height: 844 } })]);
});
after(async () => { await browser?.close(); });

test('create a public channel and post', async () => {
  const a = alice.page;
  await a.click('#compose');
  await a.click('.menu-item:has-text("New channel")');
  await a.fill('#channel-title', TITLE);
  await a.fill('#channel-desc', 'Releases and notes');
  await a.fill('#channel-username', HANDLE);
  await a.click('.modal button:has-text("Create channel")');
  await a.waitForSelector(`#chat-title:text-is("${TITLE}")`);
  await a.waitForSelector('#chat-sub:text-is("1 subscriber")');
  assert.equal(await a.getAttribute('#composer', 'placeholder'), 'Broadcast a post');
  await send(a, 'Version 1.0 is out');
  await waitText(a, 'Version 1.0 is out');
});

test('find it by @username on a phone, join, and read live posts', async () => {
  const b = bob.page;
  await b.fill('#search', '@' + HANDLE);
  await b.click(`.result-row:has-text("${TITLE}")`);
  await b.waitForSelector(`#chat-title:text-is("${TITLE}")`);
  await b.click('#join-public');
  await b.waitForSelector('#chat-sub:text-is("2 subscribers")');
  await waitText(b, 'Version 1.0 is out');
  assert.match(await b.textContent('.composer-locked'), /Only the channel.s admins can post/);

  await send(alice.page, 'Version 1.1 fixes the bugs');
  await waitText(b, 'Version 1.1 fixes the bugs');
  assert.deepEqual((await texts(b)).slice(-2), ['Version 1.0 is out', 'Version 1.1 fixes the bugs']);
  // Back to the list on the phone: the channel is there with the last post.
  await b.click('.back-btn');
  await b.locator('.chat-row', { hasText: TITLE }).waitFor();
  assert.match(await b.locator('.chat-row', { hasText: TITLE }).locator('.preview').textContent(), /Version 1.1/);
  await send(alice.page, 'Version 1.2');
  await until(async () => /Version 1.2/.test(await b.locator('.chat-row', { hasText: TITLE }).locator('.preview').textContent()));
  await until(async () => (await b.locator('.chat-row', { hasText: TITLE }).locator('.badge').textContent().catch(() => '')) === '1');
  await b.locator('.chat-row', { hasText: TITLE }).click();
  await waitText(b, 'Version 1.2');
});

test('view counts: both readers counted', async () => {
  const a = alice.page;
  const views = a.locator('#msg-list .msg', { hasText: 'Version 1.2' }).locator('.views');
  await until(async () => (await views.textContent()).trim() === '2', 10000);
  clean(alice, bob);
});
