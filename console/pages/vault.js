// The vault, after Uptrends' vault pages: sections (create, rename,
// delete), a section's authorizations as View / Change / Full control per
// operator or group (grant, remove), and its items.

import { del, get, post, put } from '../lib/api.js';
import { confirmDialog, formDialog } from '../lib/dialog.js';
import { badge, button, errorNotice, field, guarded, h, input, notice, select, table, toolbar, uid } from '../lib/dom.js';
import { historyPanel } from '../lib/history.js';
import { createItem, deleteItem, editItem, renderItem, summary, TYPES, usedBy } from './items.js';

export const title = 'Vault';

/** A refusal goes atop the view acted in (`where()`), and takes the focus. */
function atop(where) {
  return (box) => {
    where().prepend(box);
    box.tabIndex = -1;
    box.focus();
  };
}

function sectionNameField(value) {
  const name = input({ required: true, value: value || '', maxlength: 200 });
  return { name, element: field('Name', name) };
}

async function createSection(ctx) {
  const f = sectionNameField('');
  const created = await formDialog({
    title: 'Create section',
    fields: [f.element, h('p', { class: 'hint', text: 'You get View and Change on the new section; nobody else gets anything until you grant it.' })],
    submitLabel: 'Create',
    submit: () => post('/v4/VaultSection', { Name: f.name.value.trim() }),
  });
  if (!created) return;
  ctx.announce(`Section ${created.Name} created.`);
  ctx.navigate(`vault/${created.VaultSectionGuid}`);
}

async function renameSection(ctx, section) {
  const f = sectionNameField(section.Name);
  const saved = await formDialog({
    title: 'Rename section',
    fields: [f.element],
    submit: () => put(`/v4/VaultSection/${section.VaultSectionGuid}`, { Name: f.name.value.trim() }),
  });
  if (saved) {
    ctx.announce('Section renamed.');
    await ctx.refresh();
  }
}

async function deleteSection(ctx, section) {
  const ok = await confirmDialog({
    title: 'Delete section',
    message: `Delete the section \u201c${section.Name}\u201d? Only an empty section can be deleted.`,
  });
  if (!ok) return;
  await del(`/v4/VaultSection/${section.VaultSectionGuid}`);
  ctx.announce(`Section ${section.Name} deleted.`);
  ctx.navigate('vault');
}

/** Operators and groups by GUID, when this key may list them. */
async function grantees() {
  const [operators, groups] = await Promise.allSettled([get('/v4/Operator'), get('/v4/OperatorGroup')]);
  return {
    operators: operators.status === 'fulfilled' ? operators.value : null,
    groups: groups.status === 'fulfilled' ? groups.value : null,
  };
}

/** One row per grantee: which of View and Change it holds. */
function byGrantee(authorizations) {
  const rows = new Map();
  for (const a of authorizations) {
    const isGroup = !!(a.OperatorGroupGuid || a.OperatorGroupId);
    const guid = isGroup ? (a.OperatorGroupGuid || a.OperatorGroupId) : a.OperatorGuid;
    const key = `${isGroup ? 'g' : 'o'}:${guid.toUpperCase()}`;
    if (!rows.has(key)) rows.set(key, { isGroup, guid, view: null, change: null });
    const row = rows.get(key);
    if (a.AuthorizationType === 'ViewVaultSection') row.view = a;
    else row.change = a;
  }
  return [...rows.values()];
}

function granteeName(row, names) {
  const list = row.isGroup ? names.groups : names.operators;
  const found = list && list.find((x) => (row.isGroup ? x.OperatorGroupGuid : x.OperatorGuid).toUpperCase() === row.guid.toUpperCase());
  if (!found) return row.guid;
  return row.isGroup ? found.Description : `${found.FullName} (${found.Email})`;
}

function authorizationsCard(ctx, section, authorizations, names) {
  const base = `/v4/VaultSection/${section.VaultSectionGuid}/Authorization`;
  const card = h('section', { class: 'card', 'aria-labelledby': 'auth-title' }, h('h2', { id: 'auth-title', text: 'Authorizations' }));
  const where = () => card;
  const rows = byGrantee(authorizations);
  const canGrant = ctx.can('VaultSectionAuthorization.Create');
  const canRemove = ctx.can('VaultSectionAuthorization.Delete');
  const ids = new Map(rows.map((r) => [r, uid('grantee')]));
  const remove = (row, which) => guarded(ctx, atop(where), async () => {
    const name = granteeName(row, names);
    const message = which === 'change'
      ? `Remove Change on \u201c${section.Name}\u201d from ${name}? View stays.`
      : `Remove every right of ${name} on \u201c${section.Name}\u201d (View, and Change with it)?`;
    if (!(await confirmDialog({ title: 'Remove authorization', message }))) return;
    await del(`${base}/${(which === 'change' ? row.change : row.view || row.change).AuthorizationId}`);
    ctx.announce('Authorization removed.');
    await ctx.refresh();
  });
  const grantChange = (row) => guarded(ctx, atop(where), async () => {
    await post(base, row.isGroup
      ? { AuthorizationType: 'ChangeVaultSection', OperatorGroupId: row.guid }
      : { AuthorizationType: 'ChangeVaultSection', OperatorGuid: row.guid });
    ctx.announce('Change granted.');
    await ctx.refresh();
  });
  card.append(table({
    caption: 'Who may view and change this section',
    rows,
    empty: 'Nobody holds a right on this section.',
    columns: [
      { label: 'Operator or group', cell: (r) => [h('span', { id: ids.get(r), text: granteeName(r, names) }), ' ', h('span', { class: 'muted', text: r.isGroup ? '(group)' : '(operator)' })] },
      { label: 'View', cell: (r) => badge(r.view ? 'Yes' : 'No', r.view ? 'yes' : 'no') },
      { label: 'Change', cell: (r) => badge(r.change ? 'Yes' : 'No', r.change ? 'yes' : 'no') },
      { label: 'Access', cell: (r) => (r.change ? 'Full control' : 'View') },
      {
        label: 'Actions',
        cell: (r) => h('div', { class: 'actions' },
          canGrant && !r.change ? button('Grant Change', grantChange(r), { class: 'small', 'aria-describedby': ids.get(r) }) : null,
          canRemove && r.change ? button('Remove Change', remove(r, 'change'), { class: 'small', 'aria-describedby': ids.get(r) }) : null,
          canRemove ? button('Remove', remove(r, 'all'), { class: 'small danger', 'aria-describedby': ids.get(r) }) : null),
      },
    ],
  }));
  if (canGrant) card.append(grantForm(ctx, base, names));
  return card;
}

/** Grant View or Full control to an operator or a group. */
function grantForm(ctx, base, names) {
  const kind = select([['group', 'Group'], ['operator', 'Operator']], 'group');
  const level = select([['ViewVaultSection', 'View'], ['ChangeVaultSection', 'Full control (View + Change)']], 'ViewVaultSection');
  const choices = h('div', {});
  const error = h('div', { role: 'alert', class: 'notice error', hidden: true });
  let grantee;
  const fill = () => {
    const list = kind.value === 'group' ? names.groups : names.operators;
    grantee = list
      ? select(list.map((x) => (kind.value === 'group'
        ? [x.OperatorGroupGuid, x.Description]
        : [x.OperatorGuid, `${x.FullName} (${x.Email})`])), '')
      : input({ placeholder: 'GUID', 'aria-describedby': null });
    choices.replaceChildren(field(kind.value === 'group' ? 'Group' : 'Operator', grantee,
      list ? null : 'This key cannot list them (it needs an administrator with Operator.Read and OperatorGroup.Read): paste the GUID.'));
  };
  kind.addEventListener('change', fill);
  fill();
  const form = h('form', { class: 'grant', novalidate: true },
    h('h3', { text: 'Grant access' }), error,
    h('div', { class: 'grid2' }, field('Grant to', kind), choices),
    field('Access', level, 'Full control = View + Change: read, create, change and delete items, rename the section, manage these authorizations.'),
    h('button', { type: 'submit', class: 'primary', text: 'Grant' }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    const guid = grantee.value.trim();
    const body = { AuthorizationType: level.value };
    if (kind.value === 'group') body.OperatorGroupId = guid;
    else body.OperatorGuid = guid;
    try {
      await post(base, body);
      ctx.announce('Access granted.');
      await ctx.refresh();
    } catch (err) {
      if (err.status === 401) return;
      error.textContent = err.message;
      error.hidden = false;
    }
  });
  return form;
}

function itemsCard(ctx, section, items) {
  const card = h('section', { class: 'card', 'aria-labelledby': 'items-title' });
  const where = () => card;
  const ids = new Map(items.map((i) => [i.VaultItemGuid, uid('item')]));
  card.append(h('div', { class: 'toolbar' },
    h('h2', { id: 'items-title', text: 'Items' }),
    ctx.can('VaultItem.Create') ? button('Create item', guarded(ctx, atop(where), () => createItem(ctx, section)), { class: 'primary' }) : null));
  card.append(table({
    caption: `${items.length} item${items.length === 1 ? '' : 's'} in this section`,
    rows: items,
    empty: 'No items in this section yet.',
    columns: [
      { label: 'Name', cell: (i) => h('a', { id: ids.get(i.VaultItemGuid), href: `#/vault/${section.VaultSectionGuid}/${i.VaultItemGuid}`, text: i.Name }) },
      { label: 'Type', cell: (i) => TYPES[i.VaultItemType] || i.VaultItemType },
      { label: 'Details', cell: (i) => summary(i) },
      { label: 'Usage', cell: (i) => usedBy(i) },
      {
        label: 'Actions',
        cell: (i) => h('div', { class: 'actions' },
          ctx.can('VaultItem.Update') ? button('Edit', guarded(ctx, atop(where), () => editItem(ctx, i)), { class: 'small', 'aria-describedby': ids.get(i.VaultItemGuid) }) : null,
          ctx.can('VaultItem.Delete') ? button('Delete', guarded(ctx, atop(where), () => deleteItem(ctx, i)), { class: 'small danger', 'aria-describedby': ids.get(i.VaultItemGuid) }) : null),
      },
    ],
  }));
  return card;
}

async function sectionView(ctx, section) {
  const guid = section.VaultSectionGuid;
  const view = h('div', {});
  const where = () => view;
  view.append(h('div', { class: 'toolbar' },
    h('h2', { class: 'section-title', text: section.Name }),
    h('div', { class: 'actions' },
      ctx.can('VaultSection.Update') ? button('Rename', guarded(ctx, atop(where), () => renameSection(ctx, section))) : null,
      ctx.can('VaultSection.Delete') ? button('Delete', guarded(ctx, atop(where), () => deleteSection(ctx, section)), { class: 'danger' }) : null)));
  const [items, authorizations, names] = await Promise.allSettled([
    get('/v4/VaultItem'),
    get(`/v4/VaultSection/${guid}/Authorization`),
    grantees(),
  ]);
  if (items.status === 'fulfilled') {
    view.append(itemsCard(ctx, section, items.value.filter((i) => i.VaultSectionGuid.toUpperCase() === guid.toUpperCase())));
  } else view.append(errorNotice(items.reason));
  if (authorizations.status === 'fulfilled') {
    view.append(authorizationsCard(ctx, section, authorizations.value, names.value));
  } else view.append(errorNotice(authorizations.reason));
  view.append(historyPanel(`/v4/VaultSection/${guid}/History`, 'History of this section'));
  return view;
}

export async function render(main, ctx, params) {
  const [sectionGuid, itemGuid] = params;
  main.append(toolbar('Vault', ctx.can('VaultSection.Create') ? button('Create section', guarded(ctx, atop(() => main), () => createSection(ctx)), { class: 'primary' }) : null));
  let sections;
  try {
    sections = await get('/v4/VaultSection');
  } catch (e) {
    main.append(errorNotice(e));
    return;
  }
  const current = sectionGuid && sections.find((s) => s.VaultSectionGuid.toUpperCase() === sectionGuid.toUpperCase());
  const nav = h('nav', { 'aria-label': 'Sections', class: 'card' },
    h('h2', { text: 'Sections' }),
    sections.length
      ? h('ul', { class: 'list-plain' }, sections.map((s) => h('li', {}, h('a', {
        href: `#/vault/${s.VaultSectionGuid}`,
        'aria-current': current && current.VaultSectionGuid === s.VaultSectionGuid ? 'page' : null,
        text: s.Name,
      }))))
      : h('p', { class: 'muted', text: 'No section this key can view.' }));
  let detail;
  if (current && itemGuid) detail = await renderItem(ctx, current, itemGuid);
  else if (current) detail = await sectionView(ctx, current);
  else if (sectionGuid) detail = notice('error', 'This section does not exist, or this key cannot view it.');
  else detail = h('p', { class: 'muted', text: 'Choose a section to see its items and who may use them.' });
  main.append(h('div', { class: 'split' }, nav, h('div', { class: 'detail' }, detail)));
}
