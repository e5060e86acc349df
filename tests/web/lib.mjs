// lib.mjs — shared harness for the web app's browser tests: launches
// Debian's Chromium through playwright-core, makes users through the API
// (or through the sign-in screen), and watches every page for script
// errors and dialogs (an alert() would mean injected script ran).

import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';

export const BASE = process.env.PARLEY_WEB_URL || 'http://127.0.0.1:8080';
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/* Calls the HTTP API directly (for setup and for checks). */
export async function api(method, params = {}, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  const res = await fetch(`${BASE}/api/${method}`, { method: 'POST', headers, body: JSON.stringify(params) });
  const body = await res.json();
  if (!body.ok) {
    const e = new Error(`${method}: ${body.description}`);
    e.status = res.status;
    throw e;
  }
  return body.result;
}

let seq = 0;
/* A username no other test file uses: prefix plus a per-run counter. */
export function uname(prefix) {
  return `${prefix}_${process.pid % 100000}_${++seq}`.slice(0, 32);
}

export async function register(prefix, displayName) {
  const username = uname(prefix);
  const r = await api('register', { username, password: 'password123', display_name: displayName || prefix, device: 'test' });
  return { username, password: 'password123', token: r.token, user: r.user, name: displayName || prefix };
}

/* A browser context for one person, with guards for errors and dialogs. */
export async function person(browser, opts = {}) {
  const context = await browser.newContext({ viewport: opts.viewport || DESKTOP, colorScheme: opts.colorScheme || 'light',
    locale: 'en-GB', timezoneId: 'UTC', reducedMotion: 'reduce' });
  const page = await context.newPage();
  const p = { context, page, errors: [], dialogs: [] };
  page.on('pageerror', (e) => p.errors.push(String(e)));
  page.on('dialog', async (d) => { p.dialogs.push(d.message()); await d.dismiss().catch(() => {}); });
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource|WebSocket/.test(m.text())) p.errors.push(m.text()); });
  return p;
}

/* Opens the app already signed in as user u (session put in localStorage). */
export async function signedIn(browser, u, opts = {}) {
  const p = await person(browser, opts);
  if (opts.before) await opts.before(p.page);
  await p.page.goto(BASE + '/manifest.webmanifest'); // same origin, not the app
  await p.page.evaluate((s) => localStorage.setItem('parley.session', JSON.stringify(s)),
    { token: u.token, user: u.user, session_id: 0 });
  await p.page.goto(BASE + (opts.path || '/'));
  await online(p.page);
  return p;
}

export async function online(page, timeout = 15000) {
  await page.waitForSelector('body[data-conn="online"]', { timeout });
}

/* Opens the chat with this title from the chat list. */
export async function openChat(page, title) {
  await page.locator('.chat-row', { has: page.locator('.name', { hasText: title }) }).first().click();
  await page.waitForSelector(`#chat-title:text-is("${title}")`);
}

export async function send(page, text) {
  await page.fill('#composer', text);
  await page.press('#composer', 'Enter');
}

/* The texts of the messages in the open chat, as shown (delivered ones only). */
export async function texts(page) {
  return page.$$eval('#msg-list .msg[data-id] .text', (els) => els.map((e) => e.textContent));
}

export async function waitText(page, text, timeout = 10000) {
  await page.locator('#msg-list .msg[data-id] .text', { hasText: text }).first().waitFor({ timeout });
}

/* Page errors and dialogs fail the test. */
export function clean(...people) {
  for (const p of people) {
    assert.deepEqual(p.errors, [], 'no script errors');
    assert.deepEqual(p.dialogs, [], 'no dialogs');
  }
}

export function until(fn, timeout = 10000, every = 100) {
  const end = Date.now() + timeout;
  return new Promise((resolve, reject) => {
    const tick = async () => {
      let v, err;
      try { v = await fn(); } catch (e) { err = e; }
      if (v) return resolve(v);
      if (Date.now() > end) return reject(err || new Error('timed out waiting: ' + fn.toString().slice(0, 160)));
      setTimeout(tick, every);
    };
    tick();
  });
}
