// queue.js — the moderation queue (getModerationQueue): open cases by
// priority, then deadline; each with its category, target, age, deadline,
// an "overdue" marker and a trusted-flagger badge.  Arrow keys (or j/k) move
// between cases, Enter opens one, r reloads.  Refreshes every 30 seconds.

import { h, clear, field } from './dom.js';
import { errorText } from './api.js';
import { CATEGORIES, categoryName, targetShort, span, now, when, relative, empty } from './format.js';

const PAGE = 100;
const REFRESH_MS = 30000;

export function queueView(app, root) {
  let cases = [];
  let more = false;
  let loading = false;
  const cat = h('select', { id: 'queue-category' }, h('option', { value: '' }, 'All categories'),
    CATEGORIES.map(([v, l]) => h('option', { value: v }, l)));
  const overdueOnly = h('input', { id: 'queue-overdue', type: 'checkbox' });
  const flaggedOnly = h('input', { id: 'queue-flagged', type: 'checkbox' });
  const summary = h('p', { id: 'queue-summary', class: 'summary', 'aria-live': 'polite' }, 'Loading…');
  const updated = h('span', { class: 'muted small' });
  const refresh = h('button', { id: 'queue-refresh', type: 'button', onclick: () => load() }, 'Refresh');
  const body = h('tbody');
  const table = h('table', { id: 'queue', class: 'queue' },
    h('caption', { class: 'sr-only' }, 'Open cases, highest priority first, then earliest deadline'),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col', class: 'num' }, 'Priority'), h('th', { scope: 'col' }, 'Category'),
      h('th', { scope: 'col' }, 'Target'), h('th', { scope: 'col' }, 'Reported content'),
      h('th', { scope: 'col', class: 'num' }, 'Signals'), h('th', { scope: 'col' }, 'Age'),
      h('th', { scope: 'col' }, 'Deadline'))),
    body);
  const moreBtn = h('button', { id: 'queue-more', type: 'button', hidden: true, onclick: () => load(true) }, 'Load more');
  const err = h('p', { class: 'form-error', role: 'alert' });

  for (const c of [cat, overdueOnly, flaggedOnly]) c.addEventListener('change', render);

  root.append(
    h('div', { class: 'view-head' }, h('h1', null, 'Moderation queue'), summary),
    h('div', { class: 'toolbar' },
      field('Category', cat),
      h('label', { class: 'check' }, overdueOnly, ' Overdue only'),
      h('label', { class: 'check' }, flaggedOnly, ' Trusted flaggers only'),
      h('span', { class: 'grow' }), updated, refresh),
    err, h('div', { class: 'table-wrap' }, table), moreBtn);

  async function load(next = false) {
    if (loading) return;
    loading = true;
    refresh.disabled = true;
    try {
      const r = await app.api.call('getModerationQueue', { limit: PAGE, offset: next ? cases.length : 0 });
      if (!root.isConnected) return;
      cases = next ? cases.concat(r.cases) : r.cases;
      more = r.cases.length === PAGE;
      summary.textContent = `${r.open} open` + (r.overdue ? ` · ${r.overdue} overdue` : ' · none overdue');
      summary.classList.toggle('bad', r.overdue > 0);
      app.setQueueCount(r.open, r.overdue);
      updated.textContent = 'Updated ' + when(now());
      err.textContent = '';
      render();
    } catch (e) {
      if (root.isConnected) err.textContent = errorText(e);
    } finally {
      loading = false;
      refresh.disabled = false;
    }
  }

  function render() {
    const focusedId = document.activeElement?.closest?.('tr[data-case-id]')?.dataset.caseId;
    const shown = cases.filter((c) => (!cat.value || c.category === cat.value) &&
      (!overdueOnly.checked || c.overdue) && (!flaggedOnly.checked || c.trusted_flagger));
    clear(body);
    if (!shown.length) {
      body.append(h('tr', null, h('td', { colspan: 7 }, empty(cases.length ? 'No case matches the filters.' : 'The queue is empty. Nothing to review.'))));
    }
    const t = now();
    for (const c of shown) {
      const href = '#/case/' + c.case_id;
      const row = h('tr', { class: 'case-row' + (c.overdue ? ' overdue' : '') + (c.trusted_flagger ? ' flagged' : ''),
        dataset: { caseId: c.case_id }, onclick: (ev) => { if (!ev.target.closest('a')) app.go(href); } },
      h('td', { class: 'num prio' }, String(c.priority)),
      h('td', null, h('span', { class: 'cat cat-' + c.category }, categoryName(c.category)),
        c.trusted_flagger ? h('span', { class: 'badge flagger', title: 'A trusted flagger (DSA Art. 22) sent a notice' }, 'Trusted flagger') : null),
      h('td', null, h('a', { class: 'case-link', href }, `#${c.case_id} `, targetShort(c.target))),
      h('td', { class: 'excerpt' }, c.excerpt != null ? c.excerpt : h('span', { class: 'muted' }, c.target?.type === 'message' ? '(no text)' : '—')),
      h('td', { class: 'num' }, String(c.signals)),
      h('td', { class: 'nowrap' }, span(t - c.opened_at)),
      h('td', { class: 'nowrap' },
        h('time', { datetime: new Date(c.deadline * 1000).toISOString(), title: when(c.deadline) }, relative(c.deadline)),
        c.overdue ? h('span', { class: 'badge bad overdue-badge' }, 'Overdue') : null));
      body.append(row);
    }
    moreBtn.hidden = !more;
    if (focusedId) body.querySelector(`tr[data-case-id="${CSS.escape(focusedId)}"] a`)?.focus();
  }

  function onKey(ev) {
    if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const tag = ev.target.tagName;
    if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA') return;
    const links = [...body.querySelectorAll('a.case-link')];
    const i = links.indexOf(document.activeElement);
    if (ev.key === 'ArrowDown' || ev.key === 'j') {
      links[Math.min(links.length - 1, i + 1)]?.focus();
      ev.preventDefault();
    } else if (ev.key === 'ArrowUp' || ev.key === 'k') {
      links[Math.max(0, i - 1)]?.focus();
      ev.preventDefault();
    } else if (ev.key === 'r') {
      load();
      ev.preventDefault();
    }
  }
  document.addEventListener('keydown', onKey);
  const timer = setInterval(() => { if (!document.hidden) load(); }, REFRESH_MS);
  load();
  return () => {
    clearInterval(timer);
    document.removeEventListener('keydown', onKey);
  };
}
