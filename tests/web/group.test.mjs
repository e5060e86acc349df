// Groups: created in the app with a member, an invite link made in the info
// panel, a third person joins by opening /+CODE and sees new messages; pin,
// forward, revoke the link, leave.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, register, signedIn, person, api, BASE, online, send, texts, waitText, clean, until } from './lib.mjs';

let browser, A, B, C, alice, bob, carol, link;
const TITLE = 'Weekend hike';

before(async () => {
  browser = await launch();
  [A, B, C] = await Promise.all([register('grp_alice', 'Alice'), register('grp_bob', 'Bob'), register('grp_carol', 'Carol')]);
  [alice, bob] = await Promise.all([signedIn(browser, A), signedIn(browser, B)]);
});
after(async () => { await browser?.close(); });

test('create a group with a member', async () => {
  const a = alice.page;
  await a.click('#compose');
  await a.click('.menu-item:has-text("New group")');
  await a.fill('#group-title', TITLE);
  await a.fill('#group-members', '@' + B.username);
  await a.click('.modal button:has-text("Create group")');
  await a.waitForSelector(`#chat-title:text-is("${TITLE}")`);
  await a.waitForSelector('#chat-sub:text-is("2 members")');
  await a.waitForSelector('.msg.service:has-text("created the group")');
  await send(a, 'Who is in for Saturday?');
  // Bob sees the new group appear live and reads the message.
  await bob.page.locator('.chat-row', { hasText: TITLE }).click();
  await waitText(bob.page, 'Who is in for Saturday?');
  await send(bob.page, 'Me!');
  await waitText(a, 'Me!');
});

test('an invite link from the info panel; a third person joins by opening it', async () => {
  const a = alice.page;
  await a.click('.info-btn');
  await a.click('#create-link');
  const row = a.locator('#invite-links .link-row').first();
  await row.waitFor();
  link = await row.getAttribute('data-link');
  assert.match(link, /\/\+[A-Za-z0-9_-]+$/);

  // Carol is not signed in yet: the link leads through the sign-in screen.
  carol = await person(browser);
  const c = carol.page;
  await c.goto(BASE + new URL(link).pathname);
  await c.fill('#auth-username', C.username);
  await c.fill('#auth-password', C.password);
  await c.click('#auth-submit');
  await online(c);
  await c.click('#join-confirm');
  await c.waitForSelector(`#chat-title:text-is("${TITLE}")`);
  await waitText(c, 'Me!'); // history from before she joined
  await a.waitForSelector('.msg.service:has-text("joined the group")');
  await a.waitForSelector('#chat-sub:text-is("3 members")');

  await send(a, 'Welcome, Carol');
  await waitText(c, 'Welcome, Carol');
  await send(c, 'Thanks! Count me in.');
  await waitText(a, 'Thanks! Count me in.');
  await waitText(bob.page, 'Thanks! Count me in.');
  const want = ['Who is in for Saturday?', 'Me!', 'Welcome, Carol', 'Thanks! Count me in.'];
  assert.deepEqual(await texts(a), want);
  assert.deepEqual(await texts(bob.page), want);
  assert.deepEqual(await texts(c), want);
});

test('pin a message; everyone sees the pinned bar', async () => {
  const a = alice.page;
  await a.keyboard.press('Escape'); // close the info panel
  await a.locator('#msg-list .msg', { hasText: 'Who is in for Saturday?' }).click({ button: 'right' });
  await a.click('.menu-item:has-text("Pin")');
  for (const p of [alice, bob, carol]) await p.page.waitForSelector('#pin-bar:has-text("Who is in for Saturday?")');
});

test('forward a message to a private chat', async () => {
  const b = bob.page;
  await api('sendMessage', { chat_id: A.user.id, text: 'private hello' }, B.token);
  await b.locator('#msg-list .msg', { hasText: 'Thanks! Count me in.' }).click({ button: 'right' });
  await b.click('.menu-item:has-text("Forward")');
  await b.click('.pick-row:has-text("Alice")');
  await b.waitForSelector('#chat-title:text-is("Alice")');
  await b.waitForSelector('#msg-list .msg:has-text("Thanks! Count me in.") .fwd:has-text("Forwarded from Carol")');
});

test('the chat list reorders live', async () => {
  const b = bob.page;
  const order = () => b.$$eval('.chat-row .name', (els) => els.map((e) => e.textContent));
  await until(async () => (await order())[0] === 'Alice');
  await api('sendMessage', { chat_id: A.user.id, text: 'ping' }, C.token).catch(() => {});
  await api('sendMessage', { chat_id: (await api('getDialogs', {}, A.token)).find((d) => d.chat.title === TITLE).chat.id,
    text: 'Bring sunscreen' }, A.token);
  await until(async () => (await order())[0] === TITLE);
  assert.match(await b.locator('.chat-row').first().locator('.preview').textContent(), /Alice: Bring sunscreen/);
});

test('add a member from the info panel', async () => {
  const a = alice.page;
  const E = await register('grp_erin', 'Erin');
  const erin = await signedIn(browser, E);
  await a.locator('.chat-row', { hasText: TITLE }).click();
  await a.click('.info-btn');
  await a.click('#add-members-btn');
  await a.fill('#add-members', '@' + E.username);
  await a.click('.modal button:has-text("Add")');
  await a.waitForSelector('#members .member-row:has-text("Erin")');
  await erin.page.locator('.chat-row', { hasText: TITLE }).waitFor();
  await a.keyboard.press('Escape');
  await send(a, 'Hi Erin');
  await erin.page.locator('.chat-row', { hasText: TITLE }).click();
  await waitText(erin.page, 'Hi Erin');
  clean(erin);
  await erin.context.close();
});

test('revoke the link: it no longer lets anyone in', async () => {
  const a = alice.page;
  await a.click('.info-btn');
  const row = a.locator(`#invite-links .link-row[data-link="${link}"]`);
  await row.locator('.revoke-link').click();
  await a.click('.modal button:has-text("Revoke")');
  await a.waitForSelector(`#invite-links .link-row.revoked[data-link="${link}"]`);
  const D = await register('grp_dave', 'Dave');
  await assert.rejects(api('joinChat', { invite_link: link }, D.token), /INVITE_HASH_EXPIRED/);
  await a.keyboard.press('Escape');
});

test('leave the group', async () => {
  const c = carol.page;
  await c.locator('.chat-row', { hasText: TITLE }).click();
  await c.click('.info-btn');
  await c.click('#leave-chat');
  await c.click('.modal button:has-text("Leave")');
  await until(async () => (await c.locator('.chat-row', { hasText: TITLE }).count()) === 0);
  await alice.page.waitForSelector('.msg.service:has-text("Carol left the group")');
  clean(alice, bob, carol);
});
