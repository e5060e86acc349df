// Message actions and safety: edits and deletes reach the other side live;
// markup in a message is shown as text and never runs; links are made
// clickable only for http(s).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, register, signedIn, api, send, texts, waitText, clean, until } from './lib.mjs';

let browser, A, B, alice, bob;

before(async () => {
  browser = await launch();
  [A, B] = await Promise.all([register('msg_alice', 'Alice'), register('msg_bob', 'Bob')]);
  await api('sendMessage', { chat_id: B.user.id, text: 'first' }, A.token);
  [alice, bob] = await Promise.all([signedIn(browser, A, { path: `/#/c/${B.user.id}` }), signedIn(browser, B, { path: `/#/c/${A.user.id}` })]);
  await waitText(alice.page, 'first');
  await waitText(bob.page, 'first');
});
after(async () => { await browser?.close(); });

test('edit propagates', async () => {
  const a = alice.page, b = bob.page;
  await send(a, 'See you at 5');
  await waitText(b, 'See you at 5');
  await a.locator('#msg-list .msg', { hasText: 'See you at 5' }).click({ button: 'right' });
  await a.click('.menu-item:has-text("Edit")');
  await a.waitForSelector('.compose-bar:has-text("Edit message")');
  assert.equal(await a.inputValue('#composer'), 'See you at 5');
  await a.fill('#composer', 'See you at 6');
  await a.press('#composer', 'Enter');
  await waitText(b, 'See you at 6');
  const edited = b.locator('#msg-list .msg', { hasText: 'See you at 6' });
  await edited.locator('.edited').waitFor();
  assert.deepEqual(await texts(b), ['first', 'See you at 6']);
  // Up in the empty composer edits the last own message (keyboard path).
  await a.click('#composer');
  await a.press('#composer', 'ArrowUp');
  assert.equal(await a.inputValue('#composer'), 'See you at 6');
  await a.press('#composer', 'Escape');
  assert.equal(await a.inputValue('#composer'), '');
});

test('delete for everyone propagates; delete for me stays mine', async () => {
  const a = alice.page, b = bob.page;
  await send(a, 'oops, wrong chat');
  await waitText(b, 'oops, wrong chat');
  await a.locator('#msg-list .msg', { hasText: 'oops, wrong chat' }).click({ button: 'right' });
  await a.click('.menu-item:has-text("Delete")');
  await a.click('.modal button:has-text("Delete for everyone")');
  await until(async () => !(await texts(b)).includes('oops, wrong chat'));
  await until(async () => !(await texts(a)).includes('oops, wrong chat'));

  await send(b, 'only Bob hides this');
  await waitText(a, 'only Bob hides this');
  const msg = b.locator('#msg-list .msg', { hasText: 'only Bob hides this' });
  await msg.focus();
  await b.keyboard.press('Delete');
  await b.click('.modal button:has-text("Delete for me")');
  await until(async () => !(await texts(b)).includes('only Bob hides this'));
  await new Promise((r) => setTimeout(r, 500));
  assert.ok((await texts(a)).includes('only Bob hides this'), 'the other side keeps it');
  // The chat list preview follows the delete.
  assert.doesNotMatch(await b.locator('.chat-row .preview').first().textContent(), /only Bob hides this/);
});

test('markup is shown as text and never runs', async () => {
  const a = alice.page, b = bob.page;
  const evil = '<img src=x onerror=alert(1)>';
  const evil2 = '<script>alert(2)</script><b>bold</b>';
  await send(a, evil);
  await send(a, evil2);
  await waitText(b, 'onerror=alert(1)');
  await waitText(b, '<b>bold</b>');
  const t = await texts(b);
  assert.ok(t.includes(evil), 'shown literally');
  assert.ok(t.includes(evil2), 'shown literally');
  assert.equal(await b.locator('#msg-list img, #msg-list script, #msg-list b').count(), 0, 'no elements made from text');
  assert.equal(await b.locator('.chat-row img').count(), 0);
  assert.match(await b.locator('.chat-row .preview').first().textContent(), /<b>bold<\/b>/);
  await new Promise((r) => setTimeout(r, 300));
  clean(alice, bob); // includes: no dialog opened
});

test('search finds messages across chats and opens them', async () => {
  const b = bob.page;
  // New messages are searchable once the server's index batch ran, within
  // 100 ms of their commit (docs/api.md, searchMessages).
  await new Promise((r) => setTimeout(r, 400));
  await b.fill('#search', 'wrong');
  const none = b.locator('.searching:has-text("Nothing found")');
  await none.waitFor(); // deleted for everyone: not found
  await b.fill('#search', 'See you');
  const hit = b.locator('.message-result', { hasText: 'See you at 6' });
  await hit.waitFor();
  assert.equal(await hit.locator('mark').first().textContent(), 'See');
  await hit.click();
  await b.waitForSelector('#msg-list .msg.flash:has-text("See you at 6")');
  assert.equal(await b.inputValue('#search'), '');
});

test('links: http(s) clickable, other schemes stay text', async () => {
  const a = alice.page, b = bob.page;
  await send(a, 'docs at https://example.org/a?b=1, or javascript:alert(3) and www.example.net.');
  await waitText(b, 'docs at');
  const bubble = b.locator('#msg-list .msg', { hasText: 'docs at' });
  const hrefs = await bubble.locator('a').evaluateAll((as) => as.map((x) => [x.getAttribute('href'), x.getAttribute('rel'), x.target]));
  assert.deepEqual(hrefs, [
    ['https://example.org/a?b=1', 'noopener noreferrer nofollow', '_blank'],
    ['https://www.example.net/', 'noopener noreferrer nofollow', '_blank'],
  ]);
  clean(alice, bob);
});
