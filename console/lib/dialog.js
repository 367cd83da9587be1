// Modal dialogs on the native <dialog>: the page behind is inert, Tab and
// Shift+Tab stay inside, Escape closes, and focus returns to the control
// that opened it. Every dialog has a "Close" button; every confirmation
// has "Confirm" and "Cancel".

import { announce, append, h, uid } from './dom.js';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

function focusables(root) {
  return [...root.querySelectorAll(FOCUSABLE)].filter((el) => !el.closest('[hidden]'));
}

/**
 * Opens a dialog. Returns {dialog, body, foot, close(result), done}; `done`
 * resolves with what `close` was given (undefined on Escape or Close).
 */
export function openDialog({ title, content = [], footer = [], initialFocus, describedBy }) {
  const opener = document.activeElement;
  const titleId = uid('dlg');
  let resolve;
  const done = new Promise((r) => { resolve = r; });
  const body = h('div', { class: 'dialog-body' });
  const foot = h('div', { class: 'dialog-foot' });
  const closeButton = h('button', { type: 'button', class: 'small', text: 'Close' });
  const dialog = h('dialog', { 'aria-labelledby': titleId, 'aria-describedby': describedBy || null },
    h('div', { class: 'dialog-head' }, h('h2', { id: titleId, text: title }), closeButton),
    body, foot);
  append(body, [content]);
  append(foot, [footer]);
  if (!footer.length) foot.hidden = true;
  let closed = false;
  const close = (result) => {
    if (closed) return;
    closed = true;
    dialog.close();
    dialog.remove();
    if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
    resolve(result);
  };
  closeButton.addEventListener('click', () => close(undefined));
  dialog.addEventListener('cancel', (e) => { e.preventDefault(); close(undefined); });
  dialog.addEventListener('keydown', (e) => {
    if (e.key !== 'Tab') return;
    const items = focusables(dialog);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
      e.preventDefault();
      first.focus();
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  const target = (typeof initialFocus === 'function' ? initialFocus() : initialFocus) || focusables(body)[0] || closeButton;
  target.focus();
  return { dialog, body, foot, close, done };
}

/** "Are you sure?" Resolves true on Confirm, false otherwise. */
export async function confirmDialog({ title, message, details = [], confirmLabel = 'Confirm', danger = true }) {
  const messageId = uid('msg');
  const cancel = h('button', { type: 'button', text: 'Cancel' });
  const confirm = h('button', { type: 'button', class: danger ? 'primary danger' : 'primary', text: confirmLabel });
  const d = openDialog({
    title,
    describedBy: messageId,
    content: [h('p', { id: messageId, text: message }), details],
    footer: [cancel, confirm],
    initialFocus: cancel,
  });
  cancel.addEventListener('click', () => d.close(false));
  confirm.addEventListener('click', () => d.close(true));
  return (await d.done) === true;
}

/**
 * A form in a dialog. `submit(form)` runs on Save; if it throws, the
 * server's message shows in the dialog and it stays open. Resolves with
 * what `submit` returned, or undefined when cancelled.
 */
export function formDialog({ title, fields, submitLabel = 'Save', submit, wide = false }) {
  const formId = uid('form');
  const error = h('div', { role: 'alert', class: 'notice error', hidden: true });
  const form = h('form', { id: formId, novalidate: true }, error, fields);
  const cancel = h('button', { type: 'button', text: 'Cancel' });
  const save = h('button', { type: 'submit', form: formId, class: 'primary', text: submitLabel });
  const d = openDialog({ title, content: [form], footer: [cancel, save] });
  if (wide) d.dialog.classList.add('wide');
  cancel.addEventListener('click', () => d.close(undefined));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    save.disabled = true;
    error.hidden = true;
    try {
      const result = await submit(form);
      // A 204 answers null: still a success.
      d.close(result === undefined || result === null ? true : result);
    } catch (err) {
      error.textContent = err && err.message ? err.message : String(err);
      error.hidden = false;
      error.focus?.();
    } finally {
      save.disabled = false;
    }
  });
  return d.done;
}

/** Copies text to the clipboard; falls back to selecting it. */
export async function copyText(text, fallbackInput) {
  try {
    await navigator.clipboard.writeText(text);
    announce('Copied to the clipboard.');
    return true;
  } catch (e) {
    if (fallbackInput) {
      fallbackInput.focus();
      fallbackInput.select();
      const ok = document.execCommand && document.execCommand('copy');
      announce(ok ? 'Copied to the clipboard.' : 'Select the text and copy it with Ctrl+C.');
      return ok;
    }
    announce('The browser refused the clipboard; select the text and copy it.');
    return false;
  }
}

/**
 * A secret shown once (a new or regenerated API key): a read-only field,
 * "Copy", and the warning that it will never be shown again. The text
 * leaves the page when the dialog closes.
 */
export function shownOnce({ title, label, secret, intro }) {
  const warningId = uid('warn');
  const field = h('input', { type: 'text', readOnly: true, value: secret, id: uid('once'), class: 'mono', spellcheck: 'false', autocomplete: 'off' });
  const copy = h('button', { type: 'button', class: 'primary', text: 'Copy' });
  copy.addEventListener('click', () => copyText(secret, field));
  field.setAttribute('aria-describedby', warningId);
  const d = openDialog({
    title,
    describedBy: warningId,
    content: [
      intro ? h('p', { text: intro }) : null,
      h('label', { for: field.id, text: label }),
      h('div', { class: 'shown-once' }, field, copy),
      h('div', { class: 'notice warn', id: warningId },
        h('strong', { text: 'Copy this key now and keep it somewhere safe. ' }),
        'Once this dialog is closed it cannot be shown again: coffre keeps only a hash of it. '
        + 'If it is lost, regenerate the key to get a new one.'),
    ],
    initialFocus: copy,
  });
  return d.done;
}
