// appeals.js — appeals (DSA Art. 20) for senior moderators and admins
// (getAppeals, decideAppeal): the appellant's reasons, the decision
// appealed, and uphold or reverse with reasons.  The moderator who took the
// decision cannot decide its appeal (the server says can_decide).

import { h, clear, field, toast } from './dom.js';
import { errorText } from './api.js';
import { userName, when, statementView, empty } from './format.js';

export function appealsView(app, root) {
  const status = h('select', { id: 'appeals-status' },
    [['open', 'Open'], ['upheld', 'Upheld'], ['reversed', 'Reversed'], ['all', 'All']].map(([v, l]) => h('option', { value: v }, l)));
  const list = h('div', { id: 'appeals', class: 'stack' });
  const err = h('p', { class: 'form-error', role: 'alert' });
  const summary = h('p', { class: 'summary', 'aria-live': 'polite' });
  status.addEventListener('change', load);
  root.append(
    h('div', { class: 'view-head' }, h('h1', null, 'Appeals'), summary),
    h('p', { class: 'muted' }, 'Decide appeals against decisions you did not take yourself. Reversing restores what was removed, banned, restricted or suspended and tells the user; upholding tells the appellant why the decision stands.'),
    h('div', { class: 'toolbar' }, field('Show', status), h('span', { class: 'grow' }),
      h('button', { type: 'button', id: 'appeals-refresh', onclick: load }, 'Refresh')),
    err, list);

  async function load() {
    err.textContent = '';
    try {
      const r = await app.api.call('getAppeals', { status: status.value, limit: 100 });
      if (!root.isConnected) return;
      summary.textContent = `${r.length} ${status.value === 'all' ? '' : status.value + ' '}appeal${r.length === 1 ? '' : 's'}`;
      clear(list);
      if (!r.length) list.append(empty(status.value === 'open' ? 'No open appeals.' : 'No appeals.'));
      for (const a of r) list.append(card(a));
    } catch (e) {
      if (root.isConnected) err.textContent = errorText(e);
    }
  }

  function card(a) {
    const appellant = a.appellant?.notice_reference ? `the author of notice ${a.appellant.notice_reference} (no account)` : userName(a.appellant);
    const el = h('article', { class: 'card appeal', dataset: { appealId: a.appeal_id } },
      h('header', null, h('h2', null, `Appeal #${a.appeal_id} `,
        h('span', { class: 'badge ' + (a.status === 'open' ? 'open' : a.status === 'reversed' ? 'warn' : 'done') }, a.status)),
      h('p', { class: 'muted small' }, `Filed ${when(a.created_at)} by `, appellant)),
      h('div', { class: 'said' }, h('h3', null, 'The appellant’s reasons'),
        h('blockquote', { class: 'untrusted appeal-text' }, a.text || '(no text)')),
      a.statement ? statementView(a.statement, { title: `Decision appealed: statement #${a.statement_id}` }) : null,
      a.statement ? h('p', { class: 'small' }, h('a', { href: '#/case/' + a.statement.case_id }, `Open case #${a.statement.case_id}`)) : null);
    if (a.status !== 'open') {
      el.append(h('div', { class: 'outcome' }, h('h3', null, a.status === 'reversed' ? 'Reversed' : 'Upheld'),
        h('p', null, `${when(a.decided_at)}${a.decided_by ? ' by ' + userName(a.decided_by) : ''}`),
        a.outcome ? h('blockquote', { class: 'untrusted' }, a.outcome) : null,
        a.reversal_statement_id ? h('p', { class: 'small' }, `Reversal: statement #${a.reversal_statement_id}`) : null));
      return el;
    }
    if (!a.can_decide) {
      el.append(h('p', { class: 'warn-box' }, 'You took this decision: a different senior moderator must decide the appeal (DSA Art. 20).'));
      return el;
    }
    const text = h('textarea', { id: 'appeal-text-' + a.appeal_id, rows: 3, required: true, maxlength: 4000 });
    const ferr = h('p', { class: 'form-error', role: 'alert' });
    const btn = (outcome, label, cls) => h('button', { type: 'submit', class: cls, dataset: { outcome }, value: outcome }, label);
    const form = h('form', { class: 'appeal-form', novalidate: true },
      field('Reasons (sent to the appellant)', text), ferr,
      h('div', { class: 'row' }, btn('uphold', 'Uphold the decision', 'primary'), btn('reverse', 'Reverse the decision', 'danger')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const outcome = ev.submitter?.dataset.outcome;
      ferr.textContent = '';
      if (!outcome) return;
      if (!text.value.trim()) { ferr.textContent = 'Give the reasons: the appellant receives them.'; text.focus(); return; }
      for (const b of form.querySelectorAll('button')) b.disabled = true;
      try {
        const r = await app.api.call('decideAppeal', { appeal_id: a.appeal_id, outcome, text: text.value.trim() });
        toast(`Appeal #${a.appeal_id} ${r.status}` + (r.reversal_statement_id ? ` (statement #${r.reversal_statement_id})` : ''), 'ok');
        const next = card({ ...a, ...r, statement: a.statement });
        el.replaceWith(next);
        next.setAttribute('tabindex', '-1');
        next.focus();
      } catch (e) {
        ferr.textContent = errorText(e);
        for (const b of form.querySelectorAll('button')) b.disabled = false;
      }
    });
    el.append(form);
    return el;
  }

  load();
  return null;
}
