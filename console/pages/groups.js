// Operator groups and their members (account administration).

import { del, get, post, put } from '../lib/api.js';
import { confirmDialog, formDialog } from '../lib/dialog.js';
import { badge, button, errorNotice, field, guarded, h, input, select, table, toolbar, uid, underToolbar } from '../lib/dom.js';

export const title = 'Groups';

function groupForm(group) {
  const description = input({ value: group ? group.Description : '', required: true, maxlength: 200 });
  return { description, elements: [field('Description', description, 'The group\u2019s name, unique.')] };
}

async function members(main, ctx, group) {
  const where = h('section', { class: 'card', 'aria-labelledby': 'members-title' });
  where.append(h('div', { class: 'toolbar' }, h('h2', { id: 'members-title', text: `Members of \u201c${group.Description}\u201d` })));
  const [list, operators] = await Promise.all([
    get(`/v4/OperatorGroup/${group.OperatorGroupGuid}/Member`),
    get('/v4/Operator').catch(() => []),
  ]);
  const byGuid = new Map(operators.map((o) => [o.OperatorGuid.toUpperCase(), o]));
  const ids = new Map(list.map((m) => [m.OperatorGuid, uid('member')]));
  const remove = (m) => guarded(ctx, underToolbar(where), async () => {
    const who = byGuid.get(m.OperatorGuid.toUpperCase());
    const ok = await confirmDialog({ title: 'Remove member', message: `Remove ${who ? who.FullName : m.OperatorGuid} from \u201c${group.Description}\u201d?` });
    if (!ok) return;
    await del(`/v4/OperatorGroup/${group.OperatorGroupGuid}/Member/${m.OperatorGuid}`);
    ctx.announce('Member removed.');
    await ctx.refresh();
  });
  where.append(table({
    caption: `${list.length} member${list.length === 1 ? '' : 's'}`,
    rows: list,
    empty: 'This group has no members.',
    columns: [
      { label: 'Operator', cell: (m) => h('span', { id: ids.get(m.OperatorGuid), text: byGuid.get(m.OperatorGuid.toUpperCase())?.FullName || m.OperatorGuid }) },
      { label: 'E-mail', cell: (m) => byGuid.get(m.OperatorGuid.toUpperCase())?.Email || '' },
      { label: 'Actions', cell: (m) => (ctx.can('OperatorGroup.Update') ? button('Remove', remove(m), { class: 'small danger', 'aria-describedby': ids.get(m.OperatorGuid) }) : null) },
    ],
  }));
  if (ctx.can('OperatorGroup.Update')) {
    const outside = operators.filter((o) => !list.some((m) => m.OperatorGuid.toUpperCase() === o.OperatorGuid.toUpperCase()));
    if (outside.length) {
      const choice = select(outside.map((o) => [o.OperatorGuid, `${o.FullName} (${o.Email})`]), '');
      const add = guarded(ctx, underToolbar(where), async () => {
        await post(`/v4/OperatorGroup/${group.OperatorGroupGuid}/Member/${choice.value}`);
        ctx.announce('Member added.');
        await ctx.refresh();
      });
      where.append(h('div', { class: 'row' }, h('div', { class: 'grow' }, field('Operator to add', choice)), button('Add member', add)));
    }
  }
  main.append(where);
}

export async function render(main, ctx, params) {
  const create = guarded(ctx, underToolbar(main), async () => {
    const form = groupForm(null);
    const created = await formDialog({ title: 'Create group', fields: form.elements, submitLabel: 'Create', submit: () => post('/v4/OperatorGroup', { Description: form.description.value.trim() }) });
    if (created) {
      ctx.announce(`Group ${created.Description} created.`);
      ctx.navigate(`groups/${created.OperatorGroupGuid}`);
    }
  });
  main.append(toolbar('Groups', ctx.can('OperatorGroup.Create') ? button('Create group', create, { class: 'primary' }) : null));
  let groups;
  try {
    groups = await get('/v4/OperatorGroup');
  } catch (e) {
    main.append(errorNotice(e));
    return;
  }
  const ids = new Map(groups.map((g) => [g.OperatorGroupGuid, uid('grp')]));
  const rename = (g) => guarded(ctx, underToolbar(main), async () => {
    const form = groupForm(g);
    const saved = await formDialog({ title: 'Rename group', fields: form.elements, submit: () => put(`/v4/OperatorGroup/${g.OperatorGroupGuid}`, { Description: form.description.value.trim() }) });
    if (saved) await ctx.refresh();
  });
  const remove = (g) => guarded(ctx, underToolbar(main), async () => {
    const ok = await confirmDialog({ title: 'Delete group', message: `Delete the group \u201c${g.Description}\u201d? Its members lose the section rights it held.` });
    if (!ok) return;
    await del(`/v4/OperatorGroup/${g.OperatorGroupGuid}`);
    ctx.announce('Group deleted.');
    ctx.navigate('groups');
  });
  main.append(table({
    caption: `${groups.length} group${groups.length === 1 ? '' : 's'}`,
    rows: groups,
    columns: [
      { label: 'Description', cell: (g) => h('a', { id: ids.get(g.OperatorGroupGuid), href: `#/groups/${g.OperatorGroupGuid}`, text: g.Description }) },
      { label: 'Kind', cell: (g) => (g.IsAdministratorsGroup ? badge('Administrators', 'yes') : 'Group') },
      {
        label: 'Actions',
        cell: (g) => h('div', { class: 'actions' },
          h('a', { href: `#/groups/${g.OperatorGroupGuid}`, class: 'button small', 'aria-describedby': ids.get(g.OperatorGroupGuid), text: 'Members' }),
          ctx.can('OperatorGroup.Update') && !g.IsAdministratorsGroup ? button('Rename', rename(g), { class: 'small', 'aria-describedby': ids.get(g.OperatorGroupGuid) }) : null,
          ctx.can('OperatorGroup.Delete') && !g.IsAdministratorsGroup ? button('Delete', remove(g), { class: 'small danger', 'aria-describedby': ids.get(g.OperatorGroupGuid) }) : null),
      },
    ],
  }));
  const chosen = groups.find((g) => g.OperatorGroupGuid.toUpperCase() === (params[0] || '').toUpperCase());
  if (chosen) {
    try {
      await members(main, ctx, chosen);
    } catch (e) {
      if (e.status !== 401) main.append(errorNotice(e));
    }
  }
}
