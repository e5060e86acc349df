// screenshots.mjs OUTDIR — refreshes docs/screenshots/*.png: the main
// screens at desktop (1280x800) and phone (390x844) size, light and dark.
// Run by `make screenshots` through tests/web/run.sh, which starts a fresh
// parleyd; this script fills it with a small believable world first.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launch, api, signedIn, person, BASE, DESKTOP, PHONE, online, waitText } from './lib.mjs';

const out = process.argv[2] || 'docs/screenshots';
mkdirSync(out, { recursive: true });

async function user(username, name, bio) {
  const r = await api('register', { username, password: 'password123', display_name: name, device: 'Web: Chrome on Linux' });
  if (bio) await api('updateProfile', { bio }, r.token);
  return { username, password: 'password123', token: r.token, user: r.user };
}

const say = (u, chat, text, extra = {}) => api('sendMessage', { chat_id: chat, text, ...extra }, u.token);

// --- the world ----------------------------------------------------------
const alice = await user('alice', 'Alice Martin', 'Product designer. Coffee first.');
const bob = await user('bobchen', 'Bob Chen', 'Backend, bikes, bread.');
const carol = await user('carol_d', 'Carol Diaz');
const dave = await user('dave_ok', 'Dave Okafor');
const erin = await user('erin_w', 'Erin Walsh');

await api('login', { username: 'alice', password: 'password123', device: 'parley CLI on laptop' });
await api('login', { username: 'alice', password: 'password123', device: 'Web: Firefox on Android' });

const hike = await api('createGroup', { title: 'Weekend hike', user_ids: [bob.user.id, carol.user.id, dave.user.id] }, alice.token);
await say(alice, hike.id, 'Who is in for Saturday? The ridge trail should be dry by then.');
await say(carol, hike.id, 'Me! What time do we meet?');
const plan = await say(alice, hike.id, '8:00 at the north parking lot. Bring water, it is 14 km.');
await say(dave, hike.id, 'Count me in. I can drive two people.');
await say(bob, hike.id, 'I will bring sandwiches for everyone', { reply_to_message_id: plan.message_id });
await api('pinChatMessage', { chat_id: hike.id, message_id: plan.message_id }, alice.token);
await say(carol, hike.id, 'Forecast: sunny, 19°C https://weather.example.org/ridge');

const news = await api('createChannel', { title: 'Parley News', username: 'parley_news', description: 'Releases and notes from the Parley team' }, alice.token);
for (const u of [bob, carol, dave, erin]) await api('joinChat', { chat_id: news.id }, u.token);
const posts = [
  'Parley 0.1 is out: private chats, groups, channels and invite links, all on your own server.',
  'Live delivery: every device gets every update exactly once, even after a network drop.',
  'The web app is here. Open your server in a browser and start chatting.',
];
const ids = [];
for (const p of posts) ids.push((await say(alice, news.id, p)).message_id);
for (const u of [bob, carol, dave, erin]) await api('viewMessages', { chat_id: news.id, message_ids: ids }, u.token);

await say(erin, alice.user.id, 'Can we move our call to 3pm?');
await api('readHistory', { chat_id: erin.user.id }, alice.token);
await say(alice, erin.user.id, 'Sure, 3pm works.');
await say(dave, alice.user.id, 'Thanks for the slides yesterday!');

const m1 = await say(bob, alice.user.id, 'Hey Alice! Did you see the new build?');
await say(alice, bob.user.id, 'Yes! The chat list reorders itself live now!');
await say(bob, alice.user.id, 'Nice. I wrote up the sync notes here: https://parley.example.org/docs/sync');
const m4 = await say(alice, bob.user.id, 'Reading it now. One question about reconnects');
await api('editMessageText', { chat_id: bob.user.id, message_id: m4.message_id, text: 'Reading it now. One question about reconnects…' }, alice.token);
await say(bob, alice.user.id, 'Sure, ask away', { reply_to_message_id: m4.message_id });
await say(alice, bob.user.id, 'If my laptop sleeps for an hour, do I get everything I missed when it wakes up?');
await say(bob, alice.user.id, 'Yes: the app keeps its place in the update sequence and catches up with getDifference. Nothing lost, nothing doubled.');
await api('readHistory', { chat_id: alice.user.id }, bob.token);
void m1;

// --- pictures -------------------------------------------------------------
const browser = await launch();
const shot = async (page, name) => {
  await page.waitForTimeout(350);
  await page.screenshot({ path: join(out, name + '.png') });
  console.log('wrote', join(out, name + '.png'));
};

// Bob online in the background, so Alice sees him "online".
const bobPage = await signedIn(browser, bob);

for (const scheme of ['light', 'dark']) {
  const sfx = scheme === 'dark' ? '-dark' : '';
  // Sign-in screens.
  for (const [size, vp] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    if (scheme === 'dark' && size === 'desktop') continue;
    const p = await person(browser, { viewport: vp, colorScheme: scheme });
    await p.page.goto(BASE + '/');
    await p.page.waitForSelector('#auth-submit');
    await shot(p.page, `login-${size}${sfx}`);
    await p.context.close();
  }

  // Desktop: conversation, group with info, channel, settings.
  const d = await signedIn(browser, alice, { viewport: DESKTOP, colorScheme: scheme, path: `/#/c/${bob.user.id}` });
  await waitText(d.page, 'Nothing lost, nothing doubled');
  await d.page.waitForSelector('#chat-sub:text-is("online")', { timeout: 5000 }).catch(() => {});
  await d.page.locator('#composer').fill('Perfect, that is exactly what I needed');
  await shot(d.page, `chat-desktop${sfx}`);
  if (!sfx) {
    await d.page.locator('.chat-row', { hasText: 'Weekend hike' }).click();
    await waitText(d.page, 'Forecast');
    await d.page.click('.info-btn');
    await d.page.click('#create-link');
    await d.page.waitForSelector('#invite-links .link-row');
    await d.page.waitForSelector('#members .member-row');
    await d.page.waitForTimeout(3600); // the "copied" toast fades
    await shot(d.page, 'group-info-desktop');
    await d.page.keyboard.press('Escape');
    await d.page.locator('.chat-row', { hasText: 'Parley News' }).click();
    await waitText(d.page, 'The web app is here');
    await d.page.waitForTimeout(1200); // our own view is counted too
    await shot(d.page, 'channel-desktop');
    await d.page.fill('#search', 'sync');
    await d.page.waitForSelector('.message-result');
    await shot(d.page, 'search-desktop');
    await d.page.fill('#search', '');
    await d.page.click('#main-menu');
    await d.page.click('.menu-item:has-text("Settings")');
    await d.page.waitForSelector('#session-list .session');
    await shot(d.page, 'settings-desktop');
    await d.page.keyboard.press('Escape');
  }
  await d.context.close();

  // Phone: list, then a conversation.
  const ph = await signedIn(browser, alice, { viewport: PHONE, colorScheme: scheme });
  await ph.page.waitForSelector('.chat-row');
  await shot(ph.page, `list-phone${sfx}`);
  await ph.page.locator('.chat-row', { hasText: 'Weekend hike' }).click();
  await waitText(ph.page, 'Forecast');
  await api('sendChatAction', { chat_id: hike.id, action: 'typing' }, dave.token).catch(() => {});
  await ph.page.waitForSelector('#typing:not([hidden])', { timeout: 3000 }).catch(() => {});
  await shot(ph.page, `chat-phone${sfx}`);
  await ph.context.close();
}

await bobPage.context.close();
await browser.close();
void online;
