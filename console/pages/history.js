// Every change, newest first, filtered by kind of object and time on the
// server and by any text on the page. The filters live in the URL, so a
// filtered view can be bookmarked and the Back button works.

import { get, query } from '../lib/api.js';
import { errorNotice, field, h, input, select, toolbar } from '../lib/dom.js';
import { historyTable } from '../lib/history.js';
import { HISTORY_OBJECT_TYPES } from '../lib/model.js';

export const title = 'History';

/** `datetime-local` (read as UTC) → RFC 3339, and back. */
const toInstant = (local) => (local ? `${local.length === 16 ? `${local}:00` : local}Z` : '');
const toLocal = (instant) => (instant ? instant.replace(/Z$/, '').slice(0, 16) : '');

export async function render(main, ctx, params, q) {
  const objectType = select([['', 'Any object'], ...HISTORY_OBJECT_TYPES.map((t) => [t, t])], q.get('ObjectType') || '');
  const since = input({ type: 'datetime-local', value: toLocal(q.get('Since') || '') });
  const limit = input({ type: 'number', min: 1, max: 10000, value: q.get('Limit') || '200' });
  const text = input({ type: 'search', value: q.get('Text') || '', placeholder: 'Name, GUID, action…' });
  const form = h('form', { class: 'filters card', role: 'search', 'aria-label': 'Filter the history' },
    field('Object type', objectType),
    field('Since (UTC)', since),
    field('At most', limit),
    field('Containing', text),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', text: 'Filter' })));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const params = query({ ObjectType: objectType.value, Since: toInstant(since.value), Limit: limit.value, Text: text.value.trim() });
    const target = `#/history${params}`;
    if (location.hash === target) ctx.refresh();
    else location.hash = target;
  });
  main.append(toolbar('History'), form);
  let entries;
  try {
    entries = await get(`/v4/History${query({ ObjectType: q.get('ObjectType') || '', Since: q.get('Since') || '', Limit: q.get('Limit') || '200' })}`);
  } catch (e) {
    main.append(errorNotice(e));
    return;
  }
  const needle = (q.get('Text') || '').toLowerCase();
  const shown = needle
    ? entries.filter((e) => [e.ObjectType, e.ObjectGuid, e.RelatedGuid, e.Action, e.ContactFirstName, e.ContactLastName, e.ClientAddress, e.Details]
      .some((v) => String(v || '').toLowerCase().includes(needle)))
    : entries;
  main.append(historyTable(shown, { caption: `${shown.length} change${shown.length === 1 ? '' : 's'}, newest first`, showObject: true }));
}
