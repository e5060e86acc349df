// statements.js — statements of reasons: look one up (getStatement), and
// export the restricting decisions of a period in the DSA Transparency
// Database's fields (exportStatements, every page) as a JSON download.

import { h, clear, field, download } from './dom.js';
import { errorText } from './api.js';
import { statementView } from './format.js';

const DAY = 86400;
const ymd = (t) => new Date(t * 1000).toISOString().slice(0, 10);
const parseDay = (s) => (/^\d{4}-\d{2}-\d{2}$/.test(s) ? Math.floor(Date.parse(s + 'T00:00:00Z') / 1000) : NaN);

export function statementsView(app, root) {
  const today = Math.floor(Date.now() / 1000 / DAY) * DAY;
  const from = h('input', { id: 'export-from', type: 'date', value: ymd(today - 30 * DAY), required: true });
  const to = h('input', { id: 'export-to', type: 'date', value: ymd(today), required: true });
  const btn = h('button', { id: 'export-btn', type: 'submit', class: 'primary' }, 'Export JSON');
  const status = h('p', { id: 'export-status', 'aria-live': 'polite' });
  const preview = h('div', { class: 'table-wrap' });
  const form = h('form', { id: 'export-form', class: 'toolbar', novalidate: true },
    field('From (UTC, inclusive)', from), field('To (UTC, inclusive)', to), btn);

  const lookupId = h('input', { id: 'lookup-id', type: 'number', min: 1, inputmode: 'numeric', required: true });
  const lookupOut = h('div', { id: 'lookup-result' });
  const lookup = h('form', { id: 'lookup-form', class: 'toolbar', novalidate: true },
    field('Statement number', lookupId), h('button', { type: 'submit' }, 'Show'));

  root.append(
    h('div', { class: 'view-head' }, h('h1', null, 'Statements of reasons')),
    h('section', { class: 'card', 'aria-labelledby': 'export-h' },
      h('h2', { id: 'export-h' }, 'Export for the DSA Transparency Database'),
      h('p', { class: 'muted' }, 'Restricting decisions taken in the period, in the database’s statement fields (docs/policy.md). ' +
        'Dismissals and reversals are not exported; a reversed decision says "reversed": true.'),
      form, status, preview),
    h('section', { class: 'card', 'aria-labelledby': 'lookup-h' },
      h('h2', { id: 'lookup-h' }, 'Look up a statement'), lookup, lookupOut));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = parseDay(from.value), t = parseDay(to.value);
    if (!Number.isFinite(f) || !Number.isFinite(t) || t < f) {
      status.textContent = 'Pick a start day and an end day on or after it.';
      status.className = 'form-error';
      return;
    }
    btn.disabled = true;
    status.className = '';
    status.textContent = 'Exporting…';
    try {
      const all = [];
      let after = 0;
      for (let page = 0; page < 10000; page++) {
        const r = await app.api.call('exportStatements', { from: f, to: t + DAY, after_id: after });
        all.push(...r.statements);
        if (!r.more || r.next_after_id <= after) break;
        after = r.next_after_id;
        status.textContent = `Exporting… ${all.length} statements so far`;
      }
      const name = `parley-statements-${from.value}-to-${to.value}.json`;
      download(name, JSON.stringify({ statements: all }, null, 2) + '\n');
      status.textContent = `${all.length} statement${all.length === 1 ? '' : 's'} exported to ${name}.`;
      renderPreview(all);
    } catch (e) {
      status.textContent = errorText(e);
      status.className = 'form-error';
    } finally {
      btn.disabled = false;
    }
  });

  function renderPreview(rows) {
    clear(preview);
    if (!rows.length) return;
    preview.append(h('table', { id: 'export-preview', class: 'list' },
      h('thead', null, h('tr', null, ['puid', 'action', 'category', 'decision ground', 'date', 'reversed'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, rows.slice(0, 200).map((s) => h('tr', null,
        h('td', null, s.puid), h('td', null, s.action), h('td', null, s.category), h('td', null, s.decision_ground),
        h('td', null, s.application_date), h('td', null, s.reversed ? 'yes' : 'no'))))));
    if (rows.length > 200) preview.append(h('p', { class: 'muted small' }, `The first 200 of ${rows.length} are shown; the file has all.`));
  }

  lookup.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(lookupOut);
    const id = Number(lookupId.value);
    if (!Number.isInteger(id) || id < 1) { lookupOut.append(h('p', { class: 'form-error', role: 'alert' }, 'Enter a statement number.')); return; }
    try {
      const st = await app.api.call('getStatement', { statement_id: id });
      lookupOut.append(statementView(st), h('p', { class: 'small' }, h('a', { href: '#/case/' + st.case_id }, `Open case #${st.case_id}`)));
    } catch (e) {
      lookupOut.append(h('p', { class: 'form-error', role: 'alert' }, errorText(e)));
    }
  });
  return null;
}
