// Operators (account administration): list, create, edit, activate or
// deactivate, delete. An API key's own operator is managed with its key.

import { del, get, patch, post, put } from '../lib/api.js';
import { confirmDialog, formDialog } from '../lib/dialog.js';
import { badge, button, checkbox, errorNotice, field, guarded, h, input, table, toolbar, uid, underToolbar } from '../lib/dom.js';

export const title = 'Operators';

function operatorFields(op) {
  const f = {
    name: input({ value: op ? op.FullName : '', required: true, maxlength: 200 }),
    email: input({ type: 'email', value: op ? op.Email : '', required: true, maxlength: 254 }),
    login: input({ value: op ? op.Login : '', maxlength: 254 }),
  };
  const active = checkbox('Active', op ? op.IsActive : true);
  return {
    elements: [
      field('Full name', f.name),
      field('E-mail', f.email),
      field('Login', f.login, 'Optional; defaults to the e-mail address. Unique.'),
      h('div', { class: 'field' }, active.element),
    ],
    body: () => ({
      FullName: f.name.value.trim(),
      Email: f.email.value.trim(),
      Login: f.login.value.trim() || null,
      IsActive: active.box.checked,
    }),
  };
}

export async function render(main, ctx) {
  const create = async () => {
    const form = operatorFields(null);
    const created = await formDialog({ title: 'Create operator', fields: form.elements, submitLabel: 'Create', submit: () => post('/v4/Operator', form.body()) });
    if (created) {
      ctx.announce(`Operator ${created.FullName} created.`);
      await ctx.refresh();
    }
  };
  main.append(toolbar('Operators', ctx.can('Operator.Create') ? button('Create operator', guarded(ctx, underToolbar(main), create), { class: 'primary' }) : null));
  main.append(h('p', { class: 'muted', text: 'People and API keys act as operators; vault sections are granted to operators and groups. Each API key has its own operator.' }));
  let operators;
  try {
    operators = await get('/v4/Operator');
  } catch (e) {
    main.append(errorNotice(e));
    return;
  }
  const ids = new Map(operators.map((o) => [o.OperatorGuid, uid('op')]));
  const edit = (op) => guarded(ctx, underToolbar(main), async () => {
    const form = operatorFields(op);
    const saved = await formDialog({ title: 'Edit operator', fields: form.elements, submit: () => put(`/v4/Operator/${op.OperatorGuid}`, form.body()) });
    if (saved) {
      ctx.announce('Operator saved.');
      await ctx.refresh();
    }
  });
  const toggle = (op) => guarded(ctx, underToolbar(main), async () => {
    if (op.IsActive) {
      const ok = await confirmDialog({
        title: 'Deactivate operator',
        message: `Deactivate ${op.FullName}? API keys acting as this operator stop working at once and their console sessions end.`,
      });
      if (!ok) return;
    }
    await patch(`/v4/Operator/${op.OperatorGuid}`, { IsActive: !op.IsActive });
    ctx.announce(op.IsActive ? 'Operator deactivated.' : 'Operator activated.');
    await ctx.refresh();
  });
  const remove = (op) => guarded(ctx, underToolbar(main), async () => {
    const ok = await confirmDialog({ title: 'Delete operator', message: `Delete ${op.FullName}? Its memberships and section rights go with it.` });
    if (!ok) return;
    await del(`/v4/Operator/${op.OperatorGuid}`);
    ctx.announce('Operator deleted.');
    await ctx.refresh();
  });
  const small = (label, fn, op, cls = '') => button(label, fn(op), { class: `small ${cls}`, 'aria-describedby': ids.get(op.OperatorGuid) });
  main.append(table({
    caption: `${operators.length} operator${operators.length === 1 ? '' : 's'}`,
    rows: operators,
    columns: [
      { label: 'Full name', cell: (o) => h('span', { id: ids.get(o.OperatorGuid), text: o.FullName }) },
      { label: 'E-mail', cell: (o) => o.Email },
      { label: 'Login', cell: (o) => o.Login },
      { label: 'Status', cell: (o) => badge(o.IsActive ? 'Active' : 'Inactive', o.IsActive ? 'Active' : 'Revoked') },
      {
        label: 'Actions',
        cell: (o) => h('div', { class: 'actions' },
          ctx.can('Operator.Update') ? small('Edit', edit, o) : null,
          ctx.can('Operator.Update') ? small(o.IsActive ? 'Deactivate' : 'Activate', toggle, o) : null,
          ctx.can('Operator.Delete') ? small('Delete', remove, o, 'danger') : null),
      },
    ],
  }));
}
