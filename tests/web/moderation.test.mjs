// moderation.test.mjs — the moderator console (/mod) in headless Chromium,
// against a parleyd of its own on a fresh data folder (roles are granted
// with `parleyd --data DIR admin grant-role`, which needs the folder):
// a non-moderator gets the "not a moderator" screen (the API answers 403);
// a user reports another's message through the API, a moderator finds the
// case in the queue, opens it, sees the message in context and the report's
// text, removes it with one click plus the form and sees the statement of
// reasons; the message is gone from both users' histories; an admin reverses
// it on appeal in the Appeals tab (the message is back), exports the
// statements as JSON and registers a trusted flagger whose key is shown once.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, person, clean, until, uname } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PARLEYD = process.env.PARLEYD ? path.resolve(ROOT, process.env.PARLEYD) : path.join(ROOT, 'build/parleyd');

let server, base, browser;
let alice, bob, moder, admin, caseId, statementId, evilId;
const EVIL = 'Send 0.5 BTC to claim your prize <img src=x onerror=alert(1)>';
const REPORT = 'This is a scam, he asks everyone <b>for money</b> <script>alert(2)</script>';
const PLAINTEXT = 'what my phone showed: pay me';

async function startServer() {
  const data = mkdtempSync(path.join(tmpdir(), 'parley-mod.'));
  const env = {
    ...process.env, PARLEY_PASSWORD_COST: 'min', PARLEY_RATE_AUTH_IP_PER_MIN: '100000',
    PARLEY_RATE_REQUESTS_PER_SEC: '100000', PARLEY_RATE_MESSAGES_PER_SEC: '100000', PARLEY_RATE_MESSAGES_BURST: '100000',
    PARLEY_RATE_LOGIN_ACCOUNT_PER_MIN: '100000', PARLEY_WEB_ROOT: path.join(ROOT, 'web'),
  };
  const proc = spawn(PARLEYD, ['--listen', '127.0.0.1:0', '--data', data], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const addrFile = path.join(data, 'parleyd.addr');
  try {
    await until(() => existsSync(addrFile) && readFileSync(addrFile, 'utf8').trim(), 10000);
  } catch (e) {
    proc.kill();
    throw new Error('parleyd did not start: ' + log);
  }
  return { proc, data, base: 'http://' + readFileSync(addrFile, 'utf8').trim(), log: () => log };
}

async function call(method, params = {}, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  const res = await fetch(`${base}/api/${method}`, { method: 'POST', headers, body: JSON.stringify(params) });
  const body = await res.json();
  if (!body.ok) {
    const e = new Error(`${method}: ${body.description}`);
    e.status = res.status;
    throw e;
  }
  return body.result;
}

async function register(prefix, name) {
  const username = uname(prefix);
  const r = await call('register', { username, password: 'password123', display_name: name, device: 'test' });
  return { username, password: 'password123', token: r.token, user: r.user };
}

function grantRole(username, role) {
  execFileSync(PARLEYD, ['--data', server.data, 'admin', 'grant-role', username, role], { stdio: 'pipe' });
}

/* Opens /mod and signs in through the form. */
async function signInToConsole(u) {
  const p = await person(browser);
  await p.page.goto(base + '/mod');
  await p.page.fill('#login-username', u.username);
  await p.page.fill('#login-password', u.password);
  await p.page.click('#login-submit');
  return p;
}

const historyTexts = async (u, peer) => (await call('getHistory', { chat_id: peer.user.id }, u.token)).map((m) => m.text);

before(async () => {
  server = await startServer();
  base = server.base;
  browser = await launch();
  [alice, bob, moder, admin] = await Promise.all([register('mod_alice', 'Alice'), register('mod_bob', 'Bob <i>B</i>'),
    register('mod_moder', 'Mo Derator'), register('mod_admin', 'Ada Admin')]);
  grantRole(moder.username, 'moderator');
  grantRole(admin.username, 'admin');
});

after(async () => {
  await browser?.close();
  if (server) {
    server.proc.kill('SIGTERM');
    await new Promise((r) => { if (server.proc.exitCode != null) r(); else server.proc.once('exit', r); });
    rmSync(server.data, { recursive: true, force: true });
  }
});

test('/mod is served with the strict CSP', async () => {
  for (const p of ['/mod', '/mod/', '/mod/index.html']) {
    const res = await fetch(base + p);
    assert.equal(res.status, 200, p);
    assert.match(res.headers.get('content-type'), /text\/html/);
    assert.match(res.headers.get('content-security-policy'), /script-src 'self'/);
    assert.match(await res.text(), /\/mod\/js\/main\.js/);
  }
  assert.equal((await fetch(base + '/mod/nothing.js')).status, 404);
});

test('static files answer If-None-Match with 304 when a listed tag is theirs', async () => {
  for (const p of ['/', '/mod/js/main.js']) {
    const first = await fetch(base + p);
    const tag = first.headers.get('etag');
    assert.equal(first.status, 200, p);
    assert.match(tag, /^"[0-9a-f]+"$/, p);
    for (const inm of [tag, `W/${tag}`, `"other", ${tag}`, '*']) {
      const res = await fetch(base + p, { headers: { 'If-None-Match': inm } });
      assert.equal(res.status, 304, `${p} with ${inm}`);
      assert.equal(await res.text(), '');
      assert.equal(res.headers.get('etag'), tag);
    }
    const other = await fetch(base + p, { headers: { 'If-None-Match': '"other", W/"nope"' } });
    assert.equal(other.status, 200, p);
    assert.equal(await other.text(), await first.text());
  }
});

test('a non-moderator signing in to /mod gets a "not a moderator" screen', async () => {
  await assert.rejects(call('getModerationQueue', {}, alice.token), (e) => e.status === 403 && /ROLE_REQUIRED/.test(e.message));
  const p = await signInToConsole(alice);
  await p.page.waitForSelector('#not-moderator');
  assert.equal(await p.page.textContent('#notmod-title'), 'Not a moderator');
  assert.match(await p.page.textContent('#not-moderator'), new RegExp('@' + alice.username));
  assert.equal(await p.page.isVisible('#queue'), false);
  // The user app's session is not touched: the console keeps its own key.
  assert.ok(await p.page.evaluate(() => localStorage.getItem('parley.mod.session')));
  assert.equal(await p.page.evaluate(() => localStorage.getItem('parley.session')), null);
  await p.page.click('#notmod-signout');
  await p.page.waitForSelector('#login-form');
  clean(p);
  await p.context.close();
});

test('a moderator removes a reported message from the console and sees the statement', async () => {
  // Bob writes to Alice; Alice reports the middle message through the API.
  const sent = [];
  for (const text of ['Lunch at noon?', EVIL, 'See you there']) sent.push(await call('sendMessage', { chat_id: alice.user.id, text }, bob.token));
  evilId = sent[1].message_id;
  const r = await call('reportContent', { category: 'scams_fraud', chat_id: bob.user.id, message_ids: [evilId], text: REPORT,
    reporter_plaintext: PLAINTEXT }, alice.token);
  caseId = r.reports[0].case_id;

  const p = await signInToConsole(moder);
  const page = p.page;
  const row = page.locator(`#queue tr.case-row[data-case-id="${caseId}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), /Scams and fraud/);
  assert.match(await row.textContent(), /Send 0\.5 BTC/);
  assert.match(await page.textContent('#queue-summary'), /1 open/);
  assert.equal(await page.locator('#nav-appeals').count(), 0, 'no appeals tab for a plain moderator');
  assert.equal(await page.locator('#nav-admin').count(), 0, 'no admin tab for a plain moderator');

  // Keyboard: focus the case's link and open it with Enter.
  await row.locator('a.case-link').focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector(`#case-title:has-text("Case #${caseId}")`);

  // The message in context, the report's text, the plaintext marked as the reporter's: all as text.
  assert.equal(await page.textContent('#context li.reported .text'), EVIL);
  const context = await page.$$eval('#context li .text', (els) => els.map((e) => e.textContent));
  assert.deepEqual(context, ['Lunch at noon?', EVIL, 'See you there']);
  assert.equal(await page.textContent('#signals .report-text'), REPORT);
  assert.match(await page.textContent('#signals .reporter-supplied'), /Reporter-supplied plaintext — not verified/);
  assert.match(await page.textContent('#signals .reporter-supplied blockquote'), /what my phone showed/);
  assert.equal(await page.locator('#main img, #main script, #main b, #main i').count(), 0, 'untrusted text is never HTML');
  assert.match(await page.textContent('#signals'), new RegExp('@' + alice.username));

  // One click, the form, the decision.
  await page.click('#decision button[data-action="remove_message"]');
  await page.waitForSelector('#decide-form');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'd-reference');
  await page.click('#d-submit'); // nothing filled in: the form says what is missing
  assert.match(await page.textContent('#d-error'), /terms-of-service clause/);
  await page.fill('#d-reference', 'Terms § 4.2 (fraud)');
  await page.fill('#d-facts', 'The message asks for money with a fake prize.');
  await page.click('#d-submit');
  await page.waitForSelector('#statement');
  const st = await page.textContent('#statement');
  assert.match(st, /Statement of reasons #\d+/);
  assert.match(st, /Remove message/);
  assert.match(st, /Terms § 4\.2 \(fraud\)/);
  assert.match(st, /fake prize/);
  statementId = Number(await page.getAttribute('#statement .statement', 'data-statement-id'));
  assert.ok(statementId > 0);
  assert.equal(await page.textContent('#case-status'), 'decided');
  await page.waitForSelector('#context li.reported:has-text("removed by moderators")');

  // Gone from both users' histories; the neighbours stay.
  assert.deepEqual(await historyTexts(alice, bob), ['See you there', 'Lunch at noon?']);
  assert.deepEqual(await historyTexts(bob, alice), ['See you there', 'Lunch at noon?']);

  // Back to the queue with Escape: it is empty now.
  await page.keyboard.press('Escape');
  await page.waitForSelector('#queue-summary:has-text("0 open")');

  // Laptop size: nothing wider than the window.
  await page.setViewportSize({ width: 1024, height: 700 });
  await page.goto(base + '/mod#/case/' + caseId);
  await page.waitForSelector('#statement');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no horizontal scrolling at 1024px');
  clean(p);
  await p.context.close();
});

test('an admin reverses the removal on appeal, exports statements and registers a trusted flagger', async () => {
  assert.ok(statementId, 'the previous test decided a case');
  await call('appealDecision', { statement_id: statementId, text: 'It was a joke between friends <u>really</u>' }, bob.token);

  const p = await signInToConsole(admin);
  const page = p.page;
  await page.waitForSelector('#queue');
  await page.click('#nav-appeals');
  const card = page.locator('article.appeal').first();
  await card.waitFor();
  assert.equal(await card.locator('.appeal-text').textContent(), 'It was a joke between friends <u>really</u>');
  await card.locator('textarea').fill('On review the message was a joke; restored.');
  await card.locator('button[data-outcome="reverse"]').click();
  await page.waitForSelector('article.appeal .badge:text-is("reversed")');
  await until(async () => (await historyTexts(alice, bob)).includes(EVIL));

  // The export: a JSON download of the DSA statements.
  await page.click('#nav-statements');
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#export-btn')]);
  assert.match(dl.suggestedFilename(), /^parley-statements-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.json$/);
  const file = JSON.parse(readFileSync(await dl.path(), 'utf8'));
  const row = file.statements.find((s) => s.statement_id === statementId);
  assert.ok(row, 'the removal is exported');
  assert.equal(row.puid, `parley-statement-${statementId}`);
  assert.equal(row.decision_ground, 'DECISION_GROUND_INCOMPATIBLE_CONTENT');
  assert.equal(row.reversed, true);
  await page.waitForSelector('#export-status:has-text("exported")');

  // Admin: roles, and a trusted flagger whose key is shown once.
  await page.click('#nav-admin');
  await page.waitForSelector(`#roles tr:has-text("@${moder.username}")`);
  await page.fill('#flagger-name', 'Hotline <e.V.>');
  await page.fill('#flagger-email', 'reports@hotline.example');
  await page.click('#flagger-form button[type="submit"]');
  const key = await page.locator('#flagger-key').inputValue();
  assert.match(key, /^pfk_[0-9a-f]{64}$/);
  await page.waitForSelector('#flaggers tr:has-text("Hotline <e.V.>")');
  // The key works, and its notice comes first in the queue.
  await call('submitNotice', { category: 'terrorist_content', explanation: 'Recruitment post', good_faith: true,
    user_id: bob.user.id, flagger_key: key });
  await page.reload();
  await page.waitForSelector('#flaggers tr:has-text("Hotline <e.V.>")');
  assert.equal(await page.locator('#flagger-key').count(), 0, 'the key is not shown again');
  await page.click('#nav-queue');
  const first = page.locator('#queue tr.case-row').first();
  await first.waitFor();
  assert.match(await first.textContent(), /Trusted flagger/);
  assert.match(await first.textContent(), /Terrorist content/);
  assert.equal(await first.locator('.overdue-badge').count(), 0);

  // Overdue cases say so (the shortest SLA is a minute: the server's answer is aged instead).
  await page.route('**/api/getModerationQueue', async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    body.result.overdue = body.result.cases.length;
    for (const c of body.result.cases) { c.overdue = true; c.deadline = Math.floor(Date.now() / 1000) - 600; }
    await route.fulfill({ response: res, json: body });
  });
  await page.click('#queue-refresh');
  await page.waitForSelector('#queue tr.case-row.overdue .overdue-badge:text-is("Overdue")');
  assert.match(await page.textContent('#queue-summary'), /1 overdue/);
  assert.match(await page.textContent('#nav-queue-count'), /1 overdue/);
  clean(p);
  await p.context.close();
});
