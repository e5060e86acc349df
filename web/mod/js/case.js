// case.js — one case (getCase): the reported content in context (the message
// and its neighbours, removed ones included), every report and notice with
// its text (reporter-supplied plaintext marked as such), earlier decisions on
// the same user or chat, what the chat's admins did, and the decision:
// one button per applicable action, a form for what the statement of reasons
// needs (decideCase), then the resulting statement.  Escape goes back.

import { h, clear, field, toast } from './dom.js';
import { errorText } from './api.js';
import {
  ACTIONS, CATEGORIES, actionName, categoryName, kindName, userName, userBadges, chatName, targetName,
  time, when, relative, statementView, empty,
} from './format.js';

export function caseView(app, root, id) {
  let decided = null; // the statement decideCase just returned
  const status = h('p', { class: 'muted' }, 'Loading case…');
  root.append(h('p', { class: 'crumbs' }, h('a', { href: '#/queue', id: 'back-to-queue' }, '← Queue')), status);

  async function load() {
    try {
      const data = await app.api.call('getCase', { case_id: id });
      if (!root.isConnected) return;
      let statement = decided;
      if (!statement && data.case.statement_id) {
        statement = await app.api.call('getStatement', { statement_id: data.case.statement_id }).catch(() => null);
        if (!root.isConnected) return;
      }
      render(data, statement);
    } catch (e) {
      if (!root.isConnected) return;
      status.textContent = e.code === 'CASE_NOT_FOUND' ? `There is no case #${id}.` : errorText(e);
      status.className = 'form-error';
      status.setAttribute('role', 'alert');
    }
  }

  function render(data, statement) {
    const c = data.case;
    document.title = `Case #${c.case_id} · Parley moderation`;
    clear(root).append(
      h('p', { class: 'crumbs' }, h('a', { href: '#/queue', id: 'back-to-queue' }, '← Queue')),
      header(c, data),
      h('div', { class: 'case-grid' },
        h('div', { class: 'col' }, contentSection(c, data.content), historySection(c, data), adminActionsSection(data)),
        h('div', { class: 'col' }, signalsSection(data), decisionSection(c, data, statement))));
    const st = root.querySelector('#statement');
    if (decided && st) st.focus();
  }

  function header(c, data) {
    return h('header', { class: 'case-head' },
      h('h1', { id: 'case-title' }, `Case #${c.case_id}`,
        h('span', { id: 'case-status', class: 'badge ' + (c.status === 'open' ? 'open' : 'done') }, c.status),
        c.overdue ? h('span', { class: 'badge bad' }, 'Overdue') : null,
        c.trusted_flagger ? h('span', { class: 'badge flagger' }, 'Trusted flagger') : null),
      h('p', { id: 'case-target', class: 'target' }, targetName(c.target)),
      h('dl', { class: 'facts' },
        h('div', null, h('dt', null, 'Category'), h('dd', null, categoryName(c.category))),
        h('div', null, h('dt', null, 'Priority'), h('dd', null, String(c.priority))),
        h('div', null, h('dt', null, 'Signals'), h('dd', null, String(c.signals))),
        h('div', null, h('dt', null, 'Opened'), h('dd', null, time(c.opened_at), ' (', relative(c.opened_at), ')')),
        h('div', null, h('dt', null, 'Deadline'), h('dd', { class: c.overdue ? 'bad' : null }, time(c.deadline), ' (', relative(c.deadline), ')')),
        h('div', null, h('dt', null, 'Warnings'), h('dd', null, String(data.warnings ?? 0)))));
  }

  /* The message and its neighbours, in chat order; or the chat or user. */
  function contentSection(c, content) {
    const sec = h('section', { class: 'card', id: 'content', 'aria-labelledby': 'content-h' },
      h('h2', { id: 'content-h' }, 'Reported content'));
    if (content.chat) {
      sec.append(h('p', { class: 'where' }, 'In the ', chatName(content.chat),
        content.chat.member_count != null ? ` · ${content.chat.member_count} members` : null,
        content.chat.creator ? ' · created by ' + userName(content.chat.creator) : null,
        content.chat.ban_statement_id ? h('span', { class: 'badge bad' }, `banned (statement #${content.chat.ban_statement_id})`) : null));
    }
    if (content.restrictions?.length) {
      sec.append(h('ul', { class: 'restrictions' }, content.restrictions.map((r) =>
        h('li', null, (r.message_id ? `Message #${r.message_id}` : 'The whole chat') +
          ` is withheld in ${(r.territories || []).join(', ')} (statement #${r.statement_id})`))));
    }
    if (c.target.type === 'message') {
      const msgs = [...(content.context || [])];
      if (content.message) msgs.push(content.message);
      msgs.sort((a, b) => a.message_id - b.message_id);
      if (!content.message) sec.append(h('p', { class: 'form-error' }, `Message #${c.target.message_id} is no longer stored.`));
      sec.append(h('ol', { class: 'messages', id: 'context', 'aria-label': 'The reported message and the messages around it' },
        msgs.map((m) => messageItem(m, m.message_id === c.target.message_id))));
    }
    if (content.user) {
      sec.append(h('div', { class: 'who-box', id: 'content-user' },
        h('h3', null, c.target.type === 'user' ? 'Account reported' : 'Sender'),
        h('p', null, userName(content.user), ' ', userBadges(content.user)),
        content.user.bio ? h('p', { class: 'untrusted' }, content.user.bio) : null));
    }
    return sec;
  }

  function messageItem(m, reported) {
    const state = m.state && m.state !== 'visible'
      ? h('span', { class: 'badge ' + (m.state === 'removed' ? 'bad' : '') }, m.state === 'removed' ? 'removed by moderators' : 'deleted')
      : null;
    return h('li', { class: 'msg' + (reported ? ' reported' : '') + (m.state !== 'visible' ? ' gone' : ''),
      dataset: { messageId: m.message_id }, 'aria-current': reported ? 'true' : null },
    h('div', { class: 'msg-head' },
      h('span', { class: 'from' }, userName(m.from)), ' ', time(m.date), ' ',
      h('span', { class: 'muted' }, `#${m.message_id}`),
      reported ? h('span', { class: 'badge reported-badge' }, 'Reported') : null,
      m.edit_date ? h('span', { class: 'badge' }, 'edited') : null,
      m.forwarded ? h('span', { class: 'badge' }, 'forwarded') : null,
      m.reply_to_message_id ? h('span', { class: 'badge' }, `reply to #${m.reply_to_message_id}`) : null,
      state),
    m.service ? h('p', { class: 'muted' }, '(service message)')
      : m.text != null ? h('p', { class: 'text untrusted' }, m.text)
        : h('p', { class: 'muted' }, '(no text)'));
  }

  function signalsSection(data) {
    const sec = h('section', { class: 'card', id: 'signals', 'aria-labelledby': 'signals-h' },
      h('h2', { id: 'signals-h' }, `Reports and notices (${data.signals.length})`));
    if (data.reports_visible_to_chat_admins) {
      sec.append(h('p', { class: 'muted small' }, 'The chat’s own admins see users’ reports too and may act inside the chat.'));
    }
    if (!data.signals.length) sec.append(empty('No signals.'));
    for (const s of data.signals) sec.append(signalCard(s));
    return sec;
  }

  function signalCard(s) {
    const who = [];
    if (s.flagger) {
      const acc = s.flagger.accuracy == null ? 'accuracy n/a' : `accuracy ${Math.round(s.flagger.accuracy * 100)}%`;
      who.push(h('p', null, h('strong', null, 'Flagger: '), s.flagger.name,
        ` · ${acc} (${s.flagger.upheld} upheld, ${s.flagger.dismissed} dismissed)`));
    }
    if (s.reporter) who.push(h('p', null, h('strong', null, s.kind === 'report' ? 'Reporter: ' : 'Logged-in notifier: '), userName(s.reporter)));
    if (s.notifier) who.push(h('p', null, h('strong', null, 'Notifier: '), s.notifier.name || '(no name)', ' · ', s.notifier.email || '(no email)'));
    if (s.reference) who.push(h('p', { class: 'small muted' }, 'Reference ', h('code', null, s.reference)));
    if (s.location) who.push(h('p', null, h('strong', null, 'Location as given: '), h('span', { class: 'untrusted' }, s.location)));
    const label = s.kind === 'report' ? 'Report text' : 'Explanation';
    return h('article', { class: 'signal kind-' + s.kind, dataset: { signalId: s.signal_id } },
      h('header', null,
        h('span', { class: 'badge ' + (s.kind === 'trusted_flagger' ? 'flagger' : '') }, kindName(s.kind)),
        h('span', { class: 'cat' }, categoryName(s.category)),
        h('span', { class: 'badge' }, s.status.replace('_', ' ')),
        h('span', { class: 'muted small' }, when(s.created_at), ' · due ', relative(s.deadline))),
      who,
      h('div', { class: 'said' }, h('h4', null, label, h('span', { class: 'muted small' }, ' — the ',
        s.kind === 'report' ? 'reporter’s' : 'notifier’s', ' own words')),
      s.text ? h('blockquote', { class: 'report-text untrusted' }, s.text) : h('p', { class: 'muted' }, '(no text)')),
      s.reporter_supplied_plaintext ? h('div', { class: 'reporter-supplied', role: 'note' },
        h('h4', null, '⚠ Reporter-supplied plaintext — not verified'),
        h('p', { class: 'small' }, s.reporter_supplied_plaintext.note ||
          'Supplied by the reporter from their own device; the server cannot verify it.'),
        h('blockquote', { class: 'untrusted' }, s.reporter_supplied_plaintext.text)) : null,
      s.statement_id ? h('p', { class: 'small muted' }, `Decided in statement #${s.statement_id}`) : null);
  }

  function historySection(c, data) {
    const earlier = data.history.filter((st) => st.case_id !== c.case_id);
    const sec = h('section', { class: 'card', id: 'history', 'aria-labelledby': 'history-h' },
      h('h2', { id: 'history-h' }, `Earlier decisions on this user or chat (${earlier.length})`));
    if (!earlier.length) sec.append(empty('No earlier decisions.'));
    for (const st of earlier) {
      sec.append(h('div', { class: 'history-item' }, statementView(st),
        h('p', { class: 'small' }, h('a', { href: '#/case/' + st.case_id }, `Open case #${st.case_id}`))));
    }
    return sec;
  }

  function adminActionsSection(data) {
    if (!data.chat_admin_actions?.length) return null;
    return h('section', { class: 'card', id: 'admin-actions', 'aria-labelledby': 'aa-h' },
      h('h2', { id: 'aa-h' }, 'What the chat’s admins did'),
      h('ul', null, data.chat_admin_actions.map((a) => h('li', null, when(a.date), ' · ', userName(a.admin), ' ',
        a.action === 'ban_member' ? 'removed ' + userName(a.user) + ' from the chat' : `deleted message #${a.message_id} by ${userName(a.user)}`))));
  }

  function decisionSection(c, data, statement) {
    const sec = h('section', { class: 'card decision', id: 'decision', 'aria-labelledby': 'decision-h' });
    if (c.status !== 'open') {
      sec.append(h('h2', { id: 'decision-h' }, 'Decision'));
      if (statement) {
        sec.append(h('div', { id: 'statement', tabindex: '-1', class: 'statement-box' },
          decided ? h('p', { class: 'ok', role: 'status' }, 'Decided. The statement of reasons was sent to the affected user, and the notifiers were told.') : null,
          statementView(statement, { title: `Statement of reasons #${statement.statement_id}` })));
        if (statement.appeals?.length) {
          sec.append(h('h3', null, 'Appeals'), h('ul', null, statement.appeals.map((a) =>
            h('li', null, `Appeal #${a.appeal_id}: ${a.status}, filed ${when(a.created_at)}`))));
        }
      } else {
        sec.append(h('p', null, c.statement_id ? `Decided in statement #${c.statement_id}.` : 'Decided.'));
      }
      return sec;
    }
    sec.append(h('h2', { id: 'decision-h' }, 'Decide'));
    const formBox = h('div', { id: 'decision-form-box' });
    const buttons = h('div', { class: 'actions', role: 'group', 'aria-label': 'Actions' },
      data.actions.map((a) => h('button', { type: 'button', class: 'action-btn' + (ACTIONS[a]?.danger ? ' danger' : ''),
        dataset: { action: a }, title: ACTIONS[a]?.verb, onclick: () => openForm(a) }, actionName(a))));
    sec.append(buttons, formBox);

    function openForm(action) {
      for (const b of buttons.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.action === action));
      clear(formBox).append(decisionForm(c, data, action, () => {
        clear(formBox);
        for (const b of buttons.querySelectorAll('button')) b.removeAttribute('aria-pressed');
        buttons.querySelector(`[data-action="${action}"]`)?.focus();
      }));
    }
    return sec;
  }

  function decisionForm(c, data, action, close) {
    const dismiss = action === 'dismiss';
    const category = h('select', { id: 'd-category' }, CATEGORIES.map(([v, l]) =>
      h('option', { value: v, selected: v === c.category }, l)));
    const gTerms = h('input', { type: 'radio', name: 'ground', id: 'd-ground-terms', value: 'terms', checked: true });
    const gIllegal = h('input', { type: 'radio', name: 'ground', id: 'd-ground-illegal', value: 'illegal' });
    const reference = h('input', { id: 'd-reference', required: !dismiss, maxlength: 500, autocomplete: 'off' });
    const refLabel = h('label', { for: 'd-reference' });
    const refHint = h('small', { class: 'hint', id: 'd-reference-hint' });
    reference.setAttribute('aria-describedby', 'd-reference-hint');
    const syncGround = () => {
      const illegal = gIllegal.checked;
      refLabel.textContent = illegal ? 'Legal provision' : 'Terms-of-service clause';
      reference.placeholder = illegal ? 'e.g. § 130 StGB (DE), Art. 5 Directive 2017/541' : 'e.g. Terms § 4.2 (spam)';
      refHint.textContent = illegal ? 'The law the content breaks.' : 'The clause of the terms the content breaks.';
    };
    gTerms.addEventListener('change', syncGround);
    gIllegal.addEventListener('change', syncGround);
    syncGround();
    const territories = h('input', { id: 'd-territories', required: true, placeholder: 'DE, FR', autocomplete: 'off',
      pattern: '\\s*[A-Za-z]{2}(\\s*,\\s*[A-Za-z]{2})*\\s*' });
    const duration = h('input', { id: 'd-duration', type: 'number', min: 1, max: 3650, inputmode: 'numeric' });
    const manifest = h('input', { id: 'd-manifest', type: 'checkbox' });
    const facts = h('textarea', { id: 'd-facts', required: true, rows: 4, maxlength: 4000 });
    const err = h('p', { class: 'form-error', id: 'd-error', role: 'alert' });
    const submit = h('button', { type: 'submit', id: 'd-submit', class: 'primary' + (ACTIONS[action]?.danger ? ' danger' : '') },
      dismiss ? 'Dismiss the case' : actionName(action));
    const cancel = h('button', { type: 'button', id: 'd-cancel', onclick: close }, 'Cancel');

    const form = h('form', { id: 'decide-form', class: 'decide-form', novalidate: true, dataset: { action } },
      h('h3', null, actionName(action)),
      h('p', { class: 'muted small' }, ACTIONS[action]?.verb || ''),
      field('Category found', category),
      dismiss ? null : h('fieldset', { class: 'ground' }, h('legend', null, 'Ground'),
        h('label', { class: 'check' }, gTerms, ' Incompatible with the terms of service'),
        h('label', { class: 'check' }, gIllegal, ' Illegal content')),
      dismiss ? null : h('div', { class: 'field' }, refLabel, reference, refHint),
      action === 'restrict' ? field('Territories', territories, 'ISO 3166-1 alpha-2 codes, comma-separated. The content stays visible elsewhere.') : null,
      action === 'suspend_user' ? field('Duration in days', duration, 'Leave empty for a permanent suspension.') : null,
      action === 'suspend_user' && !data.warnings ? h('p', { class: 'warn-box' },
        'This user has no earlier warning. A suspension needs one, unless the content is manifestly illegal (DSA Art. 23).') : null,
      dismiss ? null : h('label', { class: 'check' }, manifest, ' Manifestly illegal'),
      field(dismiss ? 'Why no action (sent to the notifiers)' : 'Facts and circumstances', facts,
        'Goes into the statement of reasons the user receives.'),
      err,
      h('div', { class: 'row' }, submit, cancel));

    form.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { ev.stopPropagation(); close(); } });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      const p = { case_id: c.case_id, action, facts: facts.value.trim() };
      if (category.value !== c.category) p.category = category.value;
      const missing = (el, why) => { err.textContent = why; el.focus(); };
      if (!dismiss) {
        p.ground = gIllegal.checked ? 'illegal' : 'terms';
        const ref = reference.value.trim();
        if (!ref) return missing(reference, gIllegal.checked ? 'Name the legal provision relied on.' : 'Name the terms-of-service clause relied on.');
        p[p.ground === 'illegal' ? 'legal_provision' : 'terms_clause'] = ref;
        if (manifest.checked) p.manifestly_illegal = true;
      }
      if (action === 'restrict') {
        const list = territories.value.split(/[\s,;]+/).filter(Boolean).map((t) => t.toUpperCase());
        if (!list.length || list.some((t) => !/^[A-Z]{2}$/.test(t))) return missing(territories, 'List the territories as two-letter codes, e.g. DE, FR.');
        p.territories = list.join(',');
      }
      if (action === 'suspend_user' && duration.value !== '') {
        const d = Number(duration.value);
        if (!Number.isInteger(d) || d < 1 || d > 3650) return missing(duration, 'The duration is 1 to 3650 days, or empty for a permanent suspension.');
        p.duration_days = d;
      }
      if (!p.facts) return missing(facts, 'Write down the facts and circumstances: they go into the statement of reasons.');
      submit.disabled = true;
      cancel.disabled = true;
      try {
        const r = await app.api.call('decideCase', p);
        decided = r.statement;
        toast(`Decided: statement of reasons #${r.statement.statement_id}`, 'ok');
        await load();
      } catch (e) {
        if (!root.isConnected) return;
        err.textContent = errorText(e);
        submit.disabled = false;
        cancel.disabled = false;
      }
    });
    queueMicrotask(() => (dismiss ? facts : reference).focus());
    return form;
  }

  function onKey(ev) {
    if (ev.key !== 'Escape' || ev.defaultPrevented) return;
    const tag = ev.target.tagName;
    if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA') return;
    app.go('#/queue');
  }
  document.addEventListener('keydown', onKey);
  load();
  return () => document.removeEventListener('keydown', onKey);
}
