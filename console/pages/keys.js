// API keys, after Coupa's "Setup > Integrations > API Keys": the list, the
// create and edit form with every field of the seed's, the object × action
// permission picker, the key shown once, revoke, regenerate and delete —
// each destructive action confirmed.

import { del, get, post, put } from '../lib/api.js';
import { confirmDialog, formDialog, shownOnce } from '../lib/dialog.js';
import { badge, button, checkbox, errorNotice, field, guarded, h, input, notice, table, toolbar, uid } from '../lib/dom.js';
import { expirySentence, person, todayUtc, utc } from '../lib/format.js';
import { historyPanel } from '../lib/history.js';
import { OBJECTS, PERMISSIONS } from '../lib/model.js';

export const title = 'API keys';

const ACTIONS = ['Read', 'Create', 'Update', 'Delete', 'Reveal', 'Use'];

/** The explicit-only permissions in words, from the server's list: an
 *  object all of whose permissions are is written `Object.*`. */
const EXPLICIT_ONLY = (() => {
  const explicit = PERMISSIONS.filter(([, e]) => e).map(([n]) => n);
  const objectOf = (name) => name.split('.')[0];
  const whole = OBJECTS.filter((o) => explicit.some((n) => objectOf(n) === o)
    && PERMISSIONS.every(([n, e]) => objectOf(n) !== o || e));
  const words = [...whole.map((o) => `${o}.*`), ...explicit.filter((n) => !whole.includes(objectOf(n)))];
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} and ${words.at(-1)}` : words.join('');
})();

/** The object × action grid; explicit-only permissions are marked †. */
function permissionPicker(selected) {
  const boxes = new Map();
  const names = new Map(PERMISSIONS.map(([name, explicit]) => [name, explicit]));
  const actions = ACTIONS.filter((a) => OBJECTS.some((o) => names.has(`${o}.${a}`)));
  // VaultSectionAuthorization may break at its words on a phone.
  const words = (name) => name.split(/(?=[A-Z])/).flatMap((w, i) => (i ? [h('wbr'), w] : [w]));
  const rows = OBJECTS.map((object) => h('tr', {},
    h('th', { scope: 'row' }, words(object)),
    actions.map((action) => {
      const name = `${object}.${action}`;
      if (!names.has(name)) return h('td', {});
      const explicit = names.get(name);
      const box = h('input', {
        type: 'checkbox', value: name, checked: selected.includes(name),
        'aria-label': explicit ? `${name} (explicit only)` : name,
      });
      boxes.set(name, box);
      return h('td', {}, box, explicit ? h('span', { class: 'explicit', 'aria-hidden': 'true', title: 'explicit only', text: '†' }) : null);
    })));
  const legendId = uid('perm');
  const fieldset = h('fieldset', { class: 'perms', 'aria-describedby': legendId },
    h('legend', { text: 'Permissions' }),
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Object' }), actions.map((a) => h('th', { scope: 'col', text: a })))),
      h('tbody', {}, rows))),
    h('p', { class: 'hint', id: legendId, text: `† Explicit only: a key gets these only when they are selected here (${EXPLICIT_ONLY}).` }));
  return { fieldset, selected: () => [...boxes].filter(([, b]) => b.checked).map(([n]) => n) };
}

/** The create / edit form, with every field of the seed's. */
function keyFields(key) {
  const editing = !!key;
  const f = {
    name: input({ required: true, value: key ? key.Name : '', maxlength: 200 }),
    description: h('textarea', { value: key ? key.Description : '', maxlength: 2000 }),
    first: input({ value: key ? key.ContactFirstName : '', maxlength: 100, autocomplete: 'off' }),
    last: input({ value: key ? key.ContactLastName : '', maxlength: 100 }),
    login: input({ required: !editing, maxlength: 254, placeholder: editing ? 'Leave empty to keep' : '' }),
    email: input({ type: 'email', required: true, value: key ? key.ContactEmail : '', maxlength: 254 }),
    date: input({ type: 'date', value: key && key.ExpirationDate ? key.ExpirationDate : '', min: todayUtc() }),
  };
  const when = h('p', { class: 'hint', 'aria-live': 'polite', text: expirySentence(f.date.value) });
  f.date.addEventListener('input', () => { when.textContent = expirySentence(f.date.value); });
  const enable = checkbox('Enable permissions', key ? key.EnablePermissions : false);
  const picker = permissionPicker(key ? key.Permissions : []);
  const off = h('p', { class: 'hint', text: `Off: the key may call every API except the explicit-only ones (${EXPLICIT_ONLY}). On: only what is selected below.` });
  const sync = () => { picker.fieldset.hidden = !enable.box.checked; };
  enable.box.addEventListener('change', sync);
  sync();
  const elements = [
    field('Name', f.name, 'A meaningful name for the key.'),
    field('Description', f.description),
    h('div', { class: 'grid2' },
      field('Contact first name', f.first),
      field('Contact last name', f.last)),
    h('p', { class: 'hint', text: 'The contact\u2019s name appears in the history of every object the key changes.' }),
    h('div', { class: 'grid2' },
      field('Contact login', f.login, editing ? 'Required and unique; never shown again. Leave empty to keep.' : 'Required and unique; never shown again.'),
      field('Contact e-mail', f.email, 'Required and unique; receives the expiry notices.')),
    field('Expiration date', f.date, when),
    h('div', { class: 'field' }, enable.element, off),
    picker.fieldset,
  ];
  const body = () => {
    const b = {
      Name: f.name.value.trim(),
      Description: f.description.value,
      ContactFirstName: f.first.value.trim(),
      ContactLastName: f.last.value.trim(),
      ContactEmail: f.email.value.trim(),
      ExpirationDate: f.date.value || null,
      EnablePermissions: enable.box.checked,
      Permissions: enable.box.checked ? picker.selected() : [],
    };
    if (f.login.value.trim() || !editing) b.ContactLogin = f.login.value.trim();
    return b;
  };
  return { elements, body };
}

async function createKey(ctx) {
  const form = keyFields(null);
  const created = await formDialog({
    title: 'Create API key',
    fields: form.elements,
    submitLabel: 'Create',
    submit: () => post('/v4/ApiKey', form.body()),
  });
  if (!created) return;
  await shownOnce({
    title: 'API key created',
    label: 'New API key',
    secret: created.Key,
    intro: `The key \u201c${created.Name}\u201d was created.`,
  });
  ctx.announce(`API key ${created.Name} created.`);
  await ctx.refresh();
}

async function editKey(ctx, key) {
  const form = keyFields(key);
  const saved = await formDialog({
    title: `Edit API key`,
    fields: form.elements,
    submit: () => put(`/v4/ApiKey/${key.ApiKeyGuid}`, form.body()),
  });
  if (!saved) return;
  ctx.announce(`API key ${key.Name} saved.`);
  await ctx.refresh();
}

async function revokeKey(ctx, key) {
  const own = ctx.session.ApiKeyGuid === key.ApiKeyGuid;
  const ok = await confirmDialog({
    title: 'Revoke API key',
    message: `Revoke \u201c${key.Name}\u201d? It stops working at once, and every console session opened with it ends.${own ? ' This is the key you signed in with: you will be signed out.' : ''} Regenerate it to use it again.`,
  });
  if (!ok) return;
  await post(`/v4/ApiKey/${key.ApiKeyGuid}/Revoke`);
  ctx.announce(`API key ${key.Name} revoked.`);
  await ctx.refresh();
}

async function regenerateKey(ctx, key) {
  const ok = await confirmDialog({
    title: 'Regenerate API key',
    message: `Give \u201c${key.Name}\u201d a new secret? The current one stops working at once (console sessions opened with it end), and the new one is shown only once.`,
  });
  if (!ok) return;
  const fresh = await post(`/v4/ApiKey/${key.ApiKeyGuid}/Regenerate`);
  await shownOnce({
    title: 'API key regenerated',
    label: 'New API key',
    secret: fresh.Key,
    intro: `\u201c${fresh.Name}\u201d has a new secret.`,
  });
  await ctx.refresh();
}

async function deleteKey(ctx, key) {
  const ok = await confirmDialog({
    title: 'Delete API key',
    message: `Delete \u201c${key.Name}\u201d and the operator it acts as? It stops working at once. Its history is kept.`,
  });
  if (!ok) return;
  await del(`/v4/ApiKey/${key.ApiKeyGuid}`);
  ctx.announce(`API key ${key.Name} deleted.`);
  await ctx.refresh();
}

/** A refusal goes above the table of the row acted on, else atop the page. */
function nearRow(box, event) {
  const row = event.target.closest('tr');
  (row ? row.closest('.table-wrap') : document.querySelector('#main .page'))?.before(box);
}

export async function render(main, ctx, params) {
  main.append(toolbar('API keys',
    ctx.can('ApiKey.Create') ? button('Create API key', guarded(ctx, nearRow, () => createKey(ctx)), { class: 'primary' }) : null));
  main.append(h('p', { class: 'muted', text: 'Each key acts as one operator. A key with an expiration date stops working at 00:00 UTC after that date.' }));
  let keys;
  try {
    keys = await get('/v4/ApiKey');
  } catch (e) {
    main.append(errorNotice(e));
    return;
  }
  const rowIds = new Map(keys.map((k) => [k.ApiKeyGuid, uid('key')]));
  const action = (label, fn, key, cls) => button(label, guarded(ctx, nearRow, () => fn(ctx, key)), { class: `small ${cls || ''}`, 'aria-describedby': rowIds.get(key.ApiKeyGuid) });
  main.append(table({
    caption: `${keys.length} API key${keys.length === 1 ? '' : 's'}`,
    rows: keys,
    columns: [
      { label: 'Name', cell: (k) => [h('span', { id: rowIds.get(k.ApiKeyGuid), text: k.Name }), k.Description ? h('div', { class: 'muted', text: k.Description }) : null] },
      { label: 'Contact', cell: (k) => [person(k.ContactFirstName, k.ContactLastName), h('div', { class: 'muted', text: k.ContactEmail })] },
      { label: 'Status', cell: (k) => badge(k.Status) },
      { label: 'Expires (UTC)', cell: (k) => (k.ExpiresAt ? utc(k.ExpiresAt) : 'Never') },
      { label: 'Key', cell: (k) => h('code', { text: k.MaskedKey }) },
      { label: 'Last used', cell: (k) => (k.LastUsedAt ? utc(k.LastUsedAt) : 'Never') },
      {
        label: 'Actions',
        cell: (k) => h('div', { class: 'actions' },
          ctx.can('ApiKey.Update') ? action('Edit', editKey, k) : null,
          ctx.can('ApiKey.Update') && k.Status !== 'Revoked' ? action('Revoke', revokeKey, k, 'danger') : null,
          ctx.can('ApiKey.Update') ? action('Regenerate', regenerateKey, k) : null,
          ctx.can('ApiKey.Delete') ? action('Delete', deleteKey, k, 'danger') : null,
          h('a', { href: `#/keys/${k.ApiKeyGuid}`, class: 'button small', 'aria-describedby': rowIds.get(k.ApiKeyGuid), text: 'History' })),
      },
    ],
  }));
  if (!ctx.can('ApiKey.Update')) main.append(notice('', 'This key lacks ApiKey.Update: it cannot edit, revoke or regenerate keys.'));
  const chosen = keys.find((k) => k.ApiKeyGuid === params[0]);
  if (chosen) {
    const panel = historyPanel(`/v4/ApiKey/${chosen.ApiKeyGuid}/History`, `History of \u201c${chosen.Name}\u201d`);
    panel.open = true;
    panel.dispatchEvent(new Event('toggle'));
    main.append(panel);
  }
}
