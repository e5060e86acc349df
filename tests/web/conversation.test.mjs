// Two people in two browser contexts hold a conversation in real time:
// sign-up and log-in through the forms, finding a user, live messages both
// ways, the unread badge, typing, read receipts, replies, and the session
// list with revoke.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person, register, uname, api, BASE, online, send, texts, waitText, clean, until } from './lib.mjs';

let browser, alice, bob, bobUser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('sign up through the form, log in through the form', async () => {
  alice = await person(browser);
  const a = alice.page;
  await a.goto(BASE + '/');
  await a.click('#tab-register');
  const aliceName = uname('conv_alice');
  await a.fill('#auth-username', aliceName);
  await a.fill('#auth-password', 'password123');
  await a.fill('#auth-name', 'Alice');
  await a.click('#auth-submit');
  await online(a);

  bobUser = await register('conv_bob', 'Bob');
  bob = await person(browser);
  const b = bob.page;
  await b.goto(BASE + '/');
  await b.fill('#auth-username', bobUser.username);
  await b.fill('#auth-password', 'wrong-password');
  await b.click('#auth-submit');
  await b.waitForSelector('#auth-error:has-text("wrong username or password")', { timeout: 5000 }).catch(async () => {
    assert.match(await b.textContent('#auth-error'), /\S/, 'a wrong password shows an error');
  });
  await b.fill('#auth-password', bobUser.password);
  await b.click('#auth-submit');
  await online(b);
});

test('find a user and talk in real time, both ways', async () => {
  const a = alice.page, b = bob.page;
  await a.fill('#search', bobUser.username);
  await a.click(`.result-row:has-text("@${bobUser.username}")`);
  await a.waitForSelector('#chat-title:text-is("Bob")');
  await send(a, 'Hello Bob!');
  // Bob's list shows the new chat with an unread badge and the preview.
  const row = b.locator('.chat-row', { hasText: 'Alice' });
  await row.waitFor();
  await until(async () => (await row.locator('.badge').textContent().catch(() => '')) === '1');
  assert.match(await row.locator('.preview').textContent(), /Hello Bob!/);
  await row.click();
  await waitText(b, 'Hello Bob!');
  await send(b, 'Hi Alice, how are you?');
  await waitText(a, 'Hi Alice, how are you?');
  await send(a, 'Fine, thanks.');
  await waitText(b, 'Fine, thanks.');
  assert.deepEqual(await texts(a), ['Hello Bob!', 'Hi Alice, how are you?', 'Fine, thanks.']);
  assert.deepEqual(await texts(b), ['Hello Bob!', 'Hi Alice, how are you?', 'Fine, thanks.']);
  // Bob has the chat open: the badge is gone.
  await until(async () => (await row.locator('.badge').count()) === 0);
});

test('read receipts: sent, then read', async () => {
  const a = alice.page;
  // Bob's chat is open, so Alice's messages turn "read" (two ticks).
  await until(async () => (await a.locator('#msg-list .msg.out .tick.read').count()) === 2, 10000);
  await bob.page.click('#main-menu');
  await bob.page.keyboard.press('Escape');
  // Bob looks away (back to the list); a new message stays "sent" until he opens it.
  await bob.page.evaluate(() => history.back());
  await bob.page.waitForSelector('.pane-empty', { state: 'attached' });
  await send(a, 'Are you there?');
  await waitText(a, 'Are you there?');
  const last = a.locator('#msg-list .msg.out', { hasText: 'Are you there?' });
  await last.locator('.tick').waitFor();
  assert.equal(await last.locator('.tick').getAttribute('aria-label'), 'Sent');
  await bob.page.click('.chat-row');
  await waitText(bob.page, 'Are you there?');
  await until(async () => (await last.locator('.tick').getAttribute('aria-label')) === 'Read');
});

test('typing indicator', async () => {
  const a = alice.page, b = bob.page;
  await b.click('#composer');
  await b.keyboard.type('typing something', { delay: 20 });
  await a.waitForSelector('#chat-sub:text-is("typing…")', { timeout: 5000 });
  await b.fill('#composer', '');
});

test('reply to a message', async () => {
  const a = alice.page, b = bob.page;
  const target = b.locator('#msg-list .msg', { hasText: 'Fine, thanks.' });
  await target.click({ button: 'right' });
  await b.click('.menu-item:has-text("Reply")');
  await b.waitForSelector('.compose-bar:has-text("Reply to Alice")');
  await send(b, 'Glad to hear it');
  await waitText(a, 'Glad to hear it');
  const bubble = a.locator('#msg-list .msg', { hasText: 'Glad to hear it' });
  await bubble.locator('.quote:has-text("Fine, thanks.")').waitFor();
});

test('keyboard only: search, open, send, reply', async () => {
  const a = alice.page;
  await a.keyboard.press('Control+k');
  await a.keyboard.type('Bob');
  await a.waitForSelector('#search-results .result-row');
  await a.keyboard.press('ArrowDown');
  await a.keyboard.press('Enter');
  await a.waitForSelector('#chat-title:text-is("Bob")');
  await a.waitForFunction(() => document.activeElement?.id === 'composer');
  await a.keyboard.type('typed without a mouse');
  await a.keyboard.press('Enter');
  await waitText(bob.page, 'typed without a mouse');
  // Into the message list: Up selects the newest message, R replies to it.
  await a.focus('#messages');
  await a.keyboard.press('ArrowUp');
  await a.keyboard.press('r');
  await a.waitForSelector('.compose-bar:has-text("Reply to")');
  await a.keyboard.type('and a keyboard reply');
  await a.keyboard.press('Enter');
  await waitText(bob.page, 'and a keyboard reply');
});

test('sessions: list and revoke another device', async () => {
  const a = alice.page;
  const me = await a.evaluate(() => JSON.parse(localStorage.getItem('parley.session')).user.username);
  const other = await api('login', { username: me, password: 'password123', device: 'Old phone' });
  await a.click('#main-menu');
  await a.click('.menu-item:has-text("Settings")');
  const row = a.locator('#session-list .session', { hasText: 'Old phone' });
  await row.waitFor();
  assert.equal(await a.locator('#session-list .session.current').count(), 1);
  await row.locator('button:has-text("Revoke")').click();
  await row.waitFor({ state: 'detached' });
  await assert.rejects(api('getMe', {}, other.token), /UNAUTHORIZED/);
  await a.keyboard.press('Escape');
  clean(alice, bob);
});

test('log out and back in', async () => {
  const b = bob.page;
  await b.click('#main-menu');
  await b.click('.menu-item:has-text("Log out")');
  await b.waitForSelector('#auth-submit');
  assert.equal(await b.evaluate(() => localStorage.getItem('parley.session')), null);
  await b.fill('#auth-username', bobUser.username);
  await b.fill('#auth-password', bobUser.password);
  await b.click('#auth-submit');
  await online(b);
  await b.click('.chat-row');
  await waitText(b, 'Glad to hear it');
  clean(alice, bob);
});
