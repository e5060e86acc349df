// menu.js — a popup menu (role="menu") at a point or under a button.
// Arrow keys move, Enter picks, Esc or a click elsewhere closes, and focus
// goes back to where it was.

import { h, icon } from '../dom.js';

let current = null;

export function closeMenu() {
  if (!current) return;
  const { el, restore, onKey, onDown } = current;
  current = null;
  el.remove();
  document.removeEventListener('keydown', onKey, true);
  document.removeEventListener('pointerdown', onDown, true);
  if (restore && document.contains(restore)) restore.focus();
}

/* items: [{label, icon, onClick, danger}] (null entries are skipped).
 * at: {x, y} in viewport pixels, or an element to open under. */
export function openMenu(at, items, label = 'Actions') {
  closeMenu();
  const restore = document.activeElement;
  const el = h('div', { class: 'menu', role: 'menu', 'aria-label': label });
  const buttons = [];
  for (const it of items) {
    if (!it) continue;
    const b = h('button', {
      type: 'button', role: 'menuitem', class: 'menu-item' + (it.danger ? ' danger' : ''), tabindex: '-1',
      onclick: () => { closeMenu(); it.onClick(); },
    }, it.icon ? icon(it.icon) : null, h('span', { text: it.label }));
    buttons.push(b);
    el.append(b);
  }
  document.body.append(el);
  const r = el.getBoundingClientRect();
  let x, y;
  if (at instanceof Element) {
    const a = at.getBoundingClientRect();
    x = a.right - r.width;
    y = a.bottom + 4;
    if (x < 8) x = a.left;
  } else {
    x = at.x;
    y = at.y;
  }
  x = Math.max(8, Math.min(x, window.innerWidth - r.width - 8));
  if (y + r.height > window.innerHeight - 8) y = Math.max(8, (at instanceof Element ? at.getBoundingClientRect().top : y) - r.height - 4);
  el.style.left = x + 'px';
  el.style.top = y + 'px';

  const focusAt = (i) => buttons[(i + buttons.length) % buttons.length]?.focus();
  const onKey = (ev) => {
    const i = buttons.indexOf(document.activeElement);
    if (ev.key === 'Escape') { ev.preventDefault(); ev.stopPropagation(); closeMenu(); }
    else if (ev.key === 'ArrowDown') { ev.preventDefault(); focusAt(i + 1); }
    else if (ev.key === 'ArrowUp') { ev.preventDefault(); focusAt(i - 1); }
    else if (ev.key === 'Home') { ev.preventDefault(); focusAt(0); }
    else if (ev.key === 'End') { ev.preventDefault(); focusAt(-1); }
    else if (ev.key === 'Tab') { ev.preventDefault(); closeMenu(); }
  };
  const onDown = (ev) => { if (!el.contains(ev.target)) closeMenu(); };
  document.addEventListener('keydown', onKey, true);
  document.addEventListener('pointerdown', onDown, true);
  current = { el, restore, onKey, onDown };
  focusAt(0);
  return el;
}
