// Vault items: the create and edit forms for the five types (sensitive
// fields write-only, "leave empty to keep" on edit, as PUT keeps omitted
// secrets), an item's page (its fields, the parsed certificate, the
// current one-time code with a countdown, usage, history), Reveal behind a
// confirmation and only for a key holding VaultItem.Reveal.

import { del, get, post, put } from '../lib/api.js';
import { confirmDialog, copyText, formDialog, openDialog } from '../lib/dialog.js';
import { button, errorNotice, field, guarded, h, input, notice, select, table, uid } from '../lib/dom.js';
import { bytes, utc } from '../lib/format.js';
import { historyPanel } from '../lib/history.js';

export const TYPES = {
  CredentialSet: 'Credential set',
  Certificate: 'Certificate',
  CertificateArchive: 'Certificate archive',
  File: 'File',
  OneTimePassword: 'One-time password',
};

const MAX_FILE = 2 * 1024 * 1024;

/** One line about an item, by type. */
export function summary(item) {
  switch (item.VaultItemType) {
    case 'CredentialSet':
      return item.UserName ? `User name: ${item.UserName}` : 'No user name';
    case 'Certificate': {
      const lines = (item.Value || '').split('\n').filter(Boolean).length;
      return lines ? `PEM, ${lines} lines` : 'Empty';
    }
    case 'CertificateArchive': {
      const a = item.CertificateArchive || {};
      return `Issuer: ${a.Issuer || '?'}; valid ${utc(a.NotBefore)} to ${utc(a.NotAfter)}`;
    }
    case 'File': {
      const f = item.FileInfo || {};
      return `${f.Name} (${bytes(f.Size)})`;
    }
    case 'OneTimePassword': {
      const o = item.OneTimePasswordInfo || {};
      return `${o.Digits} digits every ${o.Period} s, ${o.HashAlgorithm}`;
    }
    default:
      return '';
  }
}

/** "In use by 2 monitors", as Uptrends says it. */
export function usedBy(item) {
  return !item.VaultItemUsedBy || item.VaultItemUsedBy === '-' ? 'Not in use' : `In use by ${item.VaultItemUsedBy}`;
}

/** A file's content in base64, for the JSON API. */
async function base64Of(file) {
  const data = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < data.length; i += 0x8000) binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
  return btoa(binary);
}

function secretInput(editing, attrs = {}) {
  return input({ type: 'password', autocomplete: 'new-password', placeholder: editing ? 'Leave empty to keep' : '', ...attrs });
}

/** The fields of one type; `fill(body)` adds them to a request body. */
const FIELDS = {
  CredentialSet(item, editing) {
    const user = input({ value: item ? item.UserName : '', maxlength: 1000 });
    const password = secretInput(editing, { maxlength: 10000 });
    return {
      elements: [
        field('User name', user),
        field('Password', password, editing ? 'Write-only. Leave empty to keep the current password.' : 'Write-only: it is never shown again, except through Reveal.'),
      ],
      async fill(b) {
        b.UserName = user.value;
        if (password.value) b.Password = password.value;
      },
    };
  },
  Certificate(item) {
    const pem = h('textarea', { class: 'mono', value: item ? item.Value : '', rows: 8, spellcheck: 'false', placeholder: '-----BEGIN CERTIFICATE-----' });
    const load = h('input', { type: 'file', accept: '.pem,.crt,.cer,text/plain' });
    load.addEventListener('change', async () => {
      if (load.files[0]) pem.value = await load.files[0].text();
    });
    return {
      elements: [field('Certificate (PEM)', pem, 'A public certificate or key, stored as text (not sensitive).'), field('Load from a file', load)],
      async fill(b) { b.Value = pem.value; },
    };
  },
  CertificateArchive(item, editing) {
    const file = h('input', { type: 'file', accept: '.pfx,.p12,application/x-pkcs12' });
    const password = secretInput(editing, { maxlength: 10000 });
    const current = item && item.CertificateArchive ? `Leave empty to keep the current archive (issuer: ${item.CertificateArchive.Issuer}).` : 'A PKCS#12 archive (.pfx or .p12), at most 2 MiB.';
    return {
      elements: [
        field('Certificate archive (.pfx)', file, current),
        field('Password', password, editing ? 'The archive\u2019s password, with a new archive. Write-only.' : 'The archive\u2019s password. Write-only.'),
      ],
      async fill(b) {
        const chosen = file.files[0];
        if (!chosen) {
          if (!editing) throw new Error('Choose a .pfx file.');
          if (password.value) throw new Error('To change the password, choose the archive again with it.');
          return;
        }
        if (chosen.size > MAX_FILE) throw new Error(`\u201c${chosen.name}\u201d is ${bytes(chosen.size)}: archives may be at most 2 MiB.`);
        b.CertificateArchive = { ArchiveData: await base64Of(chosen), Password: password.value };
      },
    };
  },
  File(item, editing) {
    const file = h('input', { type: 'file' });
    const name = input({ value: item && item.FileInfo ? item.FileInfo.Name : '', maxlength: 255 });
    file.addEventListener('change', () => {
      if (file.files[0] && (!editing || !name.value)) name.value = file.files[0].name;
    });
    const hint = item && item.FileInfo
      ? `Leave empty to keep the current file (${item.FileInfo.Name}, ${bytes(item.FileInfo.Size)}). At most 2 MiB.`
      : 'Any file, at most 2 MiB.';
    return {
      elements: [field('File', file, hint), field('File name', name)],
      async fill(b) {
        const chosen = file.files[0];
        if (!chosen && !editing) throw new Error('Choose a file.');
        if (chosen && chosen.size > MAX_FILE) throw new Error(`\u201c${chosen.name}\u201d is ${bytes(chosen.size)}: files may be at most 2 MiB.`);
        b.FileInfo = { Name: name.value.trim() };
        if (chosen) b.FileInfo.Data = await base64Of(chosen);
      },
    };
  },
  OneTimePassword(item, editing) {
    const o = (item && item.OneTimePasswordInfo) || {};
    const secret = secretInput(editing, { spellcheck: 'false' });
    const encoding = select(['Base32', 'Hex'], o.SecretEncodingMethod || 'Base32');
    const digits = input({ type: 'number', min: 6, max: 8, value: o.Digits || 6 });
    const period = input({ type: 'number', min: 1, max: 86400, value: o.Period || 30 });
    const algorithm = select(['SHA1', 'SHA256', 'SHA512'], o.HashAlgorithm || 'SHA1');
    return {
      elements: [
        field('Secret', secret, editing ? 'Write-only. Leave empty to keep the current secret.' : 'The shared secret, as in an otpauth:// link (Base32) or in hex. Write-only.'),
        h('div', { class: 'grid2' },
          field('Secret encoding', encoding),
          field('Hash algorithm', algorithm),
          field('Digits', digits),
          field('Period (seconds)', period)),
      ],
      async fill(b) {
        b.OneTimePasswordInfo = {
          Digits: Number(digits.value),
          Period: Number(period.value),
          HashAlgorithm: algorithm.value,
          SecretEncodingMethod: encoding.value,
        };
        if (secret.value) b.OneTimePasswordInfo.Secret = secret.value.trim();
      },
    };
  },
};

/** The create or edit form of an item; resolves with the saved item. */
function itemForm(ctx, { section, item }) {
  const editing = !!item;
  const name = input({ required: true, value: item ? item.Name : '', maxlength: 200 });
  const notes = h('textarea', { value: item ? item.Notes : '', maxlength: 10000 });
  const typeSelect = select(Object.entries(TYPES), item ? item.VaultItemType : 'CredentialSet', { disabled: editing });
  const specific = h('div', {});
  let current;
  const build = () => {
    current = FIELDS[typeSelect.value](item, editing);
    specific.replaceChildren(...current.elements);
  };
  typeSelect.addEventListener('change', build);
  build();
  const fields = [
    field('Type', typeSelect, editing ? 'An item\u2019s type cannot change; create a new item instead.' : null),
    field('Name', name),
    specific,
    field('Notes', notes),
  ];
  return formDialog({
    title: editing ? `Edit ${TYPES[item.VaultItemType].toLowerCase()}` : 'Create item',
    fields,
    submitLabel: editing ? 'Save' : 'Create',
    submit: async () => {
      const body = {
        Name: name.value.trim(),
        Notes: notes.value,
        VaultItemType: typeSelect.value,
        VaultSectionGuid: editing ? item.VaultSectionGuid : section.VaultSectionGuid,
      };
      await current.fill(body);
      if (editing) {
        await put(`/v4/VaultItem/${item.VaultItemGuid}`, body);
        return get(`/v4/VaultItem/${item.VaultItemGuid}`);
      }
      return post('/v4/VaultItem', body);
    },
  });
}

export async function createItem(ctx, section) {
  const created = await itemForm(ctx, { section });
  if (!created) return;
  ctx.announce(`Item ${created.Name} created.`);
  ctx.navigate(`vault/${created.VaultSectionGuid}/${created.VaultItemGuid}`);
}

export async function editItem(ctx, item) {
  const saved = await itemForm(ctx, { item });
  if (!saved) return;
  ctx.announce(`Item ${saved.Name} saved.`);
  await ctx.refresh();
}

export async function deleteItem(ctx, item) {
  const ok = await confirmDialog({
    title: 'Delete item',
    message: `Delete \u201c${item.Name}\u201d? ${item.VaultItemUsedBy && item.VaultItemUsedBy !== '-' ? `It is ${usedBy(item).toLowerCase()}: an item in use cannot be deleted.` : 'This cannot be undone.'}`,
  });
  if (!ok) return;
  await del(`/v4/VaultItem/${item.VaultItemGuid}`);
  ctx.announce(`Item ${item.Name} deleted.`);
  ctx.navigate(`vault/${item.VaultSectionGuid}`);
}

function download(label, fileName, base64) {
  return button(label, () => {
    const raw = atob(base64);
    const data = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i += 1) data[i] = raw.charCodeAt(i);
    const url = URL.createObjectURL(new Blob([data], { type: 'application/octet-stream' }));
    const a = h('a', { href: url, download: fileName, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }, { class: 'small' });
}

function secretRow(label, value) {
  const id = uid('sec');
  return [h('dt', { id, text: label }), h('dd', {},
    h('div', { class: 'row' }, h('code', { class: 'secret', 'aria-labelledby': id, text: value || '(empty)' }),
      value ? button('Copy', () => copyText(value), { class: 'small', 'aria-describedby': id }) : null))];
}

/** Reveal, after a confirmation; the values leave the page with the dialog. */
async function reveal(ctx, item) {
  const ok = await confirmDialog({
    title: 'Reveal secret values',
    message: `Show the secret values of \u201c${item.Name}\u201d? Anyone who can see the screen can read them, and the reveal is recorded in the history.`,
    danger: false,
  });
  if (!ok) return;
  const r = await get(`/v4/VaultItem/${item.VaultItemGuid}/Reveal`);
  const rows = [];
  if (item.VaultItemType === 'CredentialSet') rows.push(...secretRow('User name', r.UserName), ...secretRow('Password', r.Password));
  if (item.VaultItemType === 'Certificate') rows.push(...secretRow('Certificate', r.Value));
  if (item.VaultItemType === 'CertificateArchive' && r.CertificateArchive) {
    rows.push(...secretRow('Archive password', r.CertificateArchive.Password));
    rows.push(h('dt', { text: 'Archive' }), h('dd', {}, download('Download .pfx', `${item.Name}.pfx`, r.CertificateArchive.ArchiveData)));
  }
  if (item.VaultItemType === 'File' && r.FileInfo) {
    rows.push(h('dt', { text: 'File' }), h('dd', {}, download(`Download ${r.FileInfo.Name}`, r.FileInfo.Name, r.FileInfo.Data)));
  }
  if (item.VaultItemType === 'OneTimePassword' && r.OneTimePasswordInfo) rows.push(...secretRow('Secret', r.OneTimePasswordInfo.Secret));
  await openDialog({
    title: `Secret values of \u201c${item.Name}\u201d`,
    content: [h('dl', { class: 'facts' }, rows), h('p', { class: 'hint', text: 'This reveal is in the item\u2019s history.' })],
  }).done;
}

/** The current code and the seconds it has left; fetches the next one in time. */
function otpPanel(item) {
  const code = h('span', { class: 'otp mono', 'aria-live': 'polite', text: '······' });
  const left = h('progress', { max: item.OneTimePasswordInfo.Period, value: 0, 'aria-label': 'Time left for this code' });
  const seconds = h('span', { class: 'muted' });
  const error = h('div', {});
  const panel = h('section', { class: 'card', 'aria-labelledby': 'otp-title' },
    h('h2', { id: 'otp-title', text: 'Current code' }), error,
    h('div', { class: 'row' }, code, left, seconds),
    h('p', { class: 'hint', text: 'RFC 6238, from the server\u2019s clock.' }));
  let until = 0;
  let fetching = false;
  const period = item.OneTimePasswordInfo.Period;
  const tick = async () => {
    if (!panel.isConnected && until) { clearInterval(timer); return; }
    const remaining = Math.ceil((until - Date.now()) / 1000);
    if (remaining <= 0 && !fetching) {
      fetching = true;
      try {
        const otp = await get(`/v4/VaultItem/${item.VaultItemGuid}/Otp`);
        code.textContent = otp.Code;
        const validUntil = Date.parse(otp.ValidUntil);
        // A server clock that is not the browser's (the dev clock): count
        // down a whole period from now.
        const ahead = validUntil - Date.now();
        until = ahead > 0 && ahead <= period * 1000 ? validUntil : Date.now() + period * 1000;
        error.replaceChildren();
      } catch (e) {
        if (e.status === 401) { clearInterval(timer); return; }
        error.replaceChildren(errorNotice(e));
        until = Date.now() + 5000;
      } finally {
        fetching = false;
      }
    }
    const now = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    left.value = now;
    seconds.textContent = `${now} s left`;
  };
  const timer = setInterval(tick, 1000);
  tick();
  return panel;
}

function facts(item) {
  const rows = [['Type', TYPES[item.VaultItemType]], ['Usage', usedBy(item)], ['Sensitive', item.IsSensitive ? 'Yes: secret values are never shown here' : 'No']];
  if (item.VaultItemType === 'CredentialSet') rows.push(['User name', item.UserName], ['Password', 'Hidden (write-only)']);
  if (item.VaultItemType === 'CertificateArchive' && item.CertificateArchive) {
    const a = item.CertificateArchive;
    rows.push(['Issuer', a.Issuer], ['Not before', utc(a.NotBefore)], ['Not after', utc(a.NotAfter)]);
  }
  if (item.VaultItemType === 'File' && item.FileInfo) rows.push(['File name', item.FileInfo.Name], ['Size', bytes(item.FileInfo.Size)]);
  if (item.VaultItemType === 'OneTimePassword' && item.OneTimePasswordInfo) {
    const o = item.OneTimePasswordInfo;
    rows.push(['Digits', String(o.Digits)], ['Period', `${o.Period} s`], ['Hash algorithm', o.HashAlgorithm], ['Secret', 'Hidden (write-only)']);
  }
  rows.push(['Notes', item.Notes || '—']);
  return h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })]),
    item.VaultItemType === 'Certificate' ? [h('dt', { text: 'Certificate (PEM)' }), h('dd', {}, h('pre', { text: item.Value }))] : null);
}

/** An item's page. */
export async function renderItem(ctx, section, itemGuid) {
  const view = h('div', {});
  let item;
  try {
    item = await get(`/v4/VaultItem/${itemGuid}`);
  } catch (e) {
    view.append(errorNotice(e));
    return view;
  }
  const act = (fn) => guarded(ctx, (box) => view.prepend(box), fn);
  view.append(
    h('p', {}, h('a', { href: `#/vault/${section.VaultSectionGuid}`, text: `\u2190 ${section.Name}` })),
    h('div', { class: 'toolbar' },
      h('h2', { class: 'item-title', text: item.Name }),
      h('div', { class: 'actions' },
        ctx.can('VaultItem.Update') ? button('Edit', act(() => editItem(ctx, item))) : null,
        ctx.can('VaultItem.Reveal') && item.IsSensitive ? button('Reveal', act(() => reveal(ctx, item))) : null,
        ctx.can('VaultItem.Delete') ? button('Delete', act(() => deleteItem(ctx, item)), { class: 'danger' }) : null)),
    h('section', { class: 'card', 'aria-label': 'Details' }, facts(item)));
  if (item.IsSensitive && !ctx.can('VaultItem.Reveal')) {
    view.append(notice('', 'This key cannot reveal secret values: that needs the explicit-only permission VaultItem.Reveal.'));
  }
  if (item.VaultItemType === 'OneTimePassword') view.append(otpPanel(item));
  try {
    const usage = await get(`/v4/VaultItem/${item.VaultItemGuid}/Usage`);
    view.append(h('section', { class: 'card', 'aria-labelledby': 'usage-title' },
      h('h2', { id: 'usage-title', text: 'Usage' }),
      h('p', { text: usedBy(item) }),
      table({
        caption: 'What uses this item',
        rows: usage,
        empty: 'Nothing has registered a use of this item.',
        columns: [
          { label: 'Consumer', cell: (u) => u.ConsumerName },
          { label: 'Type', cell: (u) => u.ConsumerType },
          { label: 'Since', cell: (u) => utc(u.CreatedAt) },
        ],
      })));
  } catch (e) {
    if (e.status !== 401) view.append(errorNotice(e));
  }
  view.append(historyPanel(`/v4/VaultItem/${item.VaultItemGuid}/History`, 'History of this item'));
  return view;
}
