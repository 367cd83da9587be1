// Building the page. Every string from the server or the user goes in as a
// text node or an attribute value, never as markup: `h` has no way to parse
// HTML, and nothing in the console hands a string to the HTML parser.

let counter = 0;

/** A fresh id for label/field pairs. */
export function uid(prefix = 'c') {
  counter += 1;
  return `${prefix}-${counter}`;
}

/**
 * h('button', {class: 'primary', on: {click}}, 'Save') — an element.
 * Attributes: `text` sets textContent; `on` adds listeners; `class`;
 * `value`, `checked`, `disabled`, `hidden`, `selected`, `required`,
 * `multiple` and `readOnly` are set as properties; everything else with
 * setAttribute (null and false leave it out). Children: strings become text.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'text') el.textContent = String(value);
    else if (name === 'on') for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    else if (name === 'class') el.className = value;
    else if (['value', 'checked', 'disabled', 'hidden', 'selected', 'required', 'multiple', 'readOnly'].includes(name)) el[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** A labelled field: the label names the control (its accessible name). */
export function field(label, control, hint) {
  if (!control.id) control.id = uid('f');
  const parts = [h('label', { for: control.id, text: label }), control];
  if (hint) {
    const hintEl = hint instanceof Node ? hint : h('p', { class: 'hint', text: hint });
    hintEl.classList.add('hint');
    hintEl.id = uid('hint');
    control.setAttribute('aria-describedby', hintEl.id);
    parts.push(hintEl);
  }
  return h('div', { class: 'field' }, parts);
}

export function input(attrs = {}) {
  return h('input', { type: 'text', autocomplete: 'off', ...attrs });
}

export function select(options, value, attrs = {}) {
  const el = h('select', attrs);
  for (const option of options) {
    const [v, label] = Array.isArray(option) ? option : [option, option];
    el.append(h('option', { value: v, text: label, selected: v === value }));
  }
  return el;
}

export function checkbox(label, checked, attrs = {}) {
  const box = h('input', { type: 'checkbox', id: uid('cb'), checked: !!checked, ...attrs });
  return { box, element: h('label', { class: 'check', for: box.id }, box, label) };
}

/** A message box; errors are announced (role=alert). */
export function notice(kind, ...content) {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : null }, content);
}

/** What went wrong, in the server's own words. */
export function errorNotice(error) {
  return notice('error', error && error.message ? error.message : String(error));
}

/**
 * A user's action (an event handler) whose refusal is announced and shown in
 * the server's words where `place(box, event)` puts it, replacing the last
 * one. A 401 is left to the app, which has already gone back to sign-in.
 */
export function guarded(ctx, place, action) {
  return async (event) => {
    try {
      await action();
    } catch (err) {
      if (err.status === 401) return;
      ctx.announce(err.message);
      document.querySelector('#main .notice.error.action')?.remove();
      const box = errorNotice(err);
      box.classList.add('action');
      place(box, event);
    }
  };
}

/** `guarded`'s usual place: right under the toolbar of `where`. */
export const underToolbar = (where) => (box) => where.querySelector('.toolbar').after(box);

/**
 * A table that becomes a list of cards on a narrow screen.
 * columns: [{label, cell(row) -> Node|string, key?}]
 */
export function table({ caption, columns, rows, empty = 'Nothing yet.', rowAttrs }) {
  if (!rows.length) return h('p', { class: 'muted', text: empty });
  const head = h('tr', {}, columns.map((c) => h('th', { scope: 'col', text: c.label })));
  const body = rows.map((row) =>
    h('tr', rowAttrs ? rowAttrs(row) : {}, columns.map((c, i) => {
      const content = c.cell(row);
      const attrs = { 'data-label': c.label };
      return i === 0 && c.header !== false ? h('th', { scope: 'row', ...attrs }, content) : h('td', attrs, content);
    })),
  );
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'cards' }, caption ? h('caption', { text: caption }) : null, h('thead', {}, head), h('tbody', {}, body)));
}

let statusTimer = null;

/** A short message in the live region (read out by screen readers). */
export function announce(text) {
  const status = document.getElementById('status');
  if (!status) return;
  status.textContent = text;
  status.classList.add('visible');
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => status.classList.remove('visible'), 4000);
}

/** The page's heading row: title and its main actions. */
export function toolbar(title, ...actions) {
  return h('div', { class: 'toolbar' }, h('h1', { text: title }), h('div', { class: 'actions' }, actions));
}

export function button(label, onClick, attrs = {}) {
  return h('button', { type: 'button', ...attrs, on: { click: onClick } }, label);
}

/** A Yes/No badge, or a status badge. */
export function badge(text, kind = text) {
  return h('span', { class: `badge ${kind}`, text });
}
