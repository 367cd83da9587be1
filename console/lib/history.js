// History lines as every page shows them: when (UTC), what, by whom.

import { get } from './api.js';
import { errorNotice, h, table } from './dom.js';
import { person, utc } from './format.js';

/** Who made a change: the contact of the key or OAuth client, or coffre itself. */
function by(e) {
  if (e.ApiKeyGuid) return person(e.ContactFirstName, e.ContactLastName, 'an API key');
  if (e.OAuthClientGuid) return person(e.ContactFirstName, e.ContactLastName, 'an OAuth client');
  return 'coffre';
}

export function historyTable(entries, { caption = 'History', showObject = false } = {}) {
  const columns = [
    { label: 'When', cell: (e) => utc(e.Timestamp) },
    showObject ? { label: 'Object', cell: (e) => [e.ObjectType, h('br'), h('code', { text: e.ObjectGuid })] } : null,
    { label: 'Action', cell: (e) => e.Action },
    { label: 'By', cell: by },
    showObject ? { label: 'From', cell: (e) => e.ClientAddress } : null,
    { label: 'Details', cell: (e) => e.Details },
  ].filter(Boolean);
  return table({ caption, columns, rows: entries, empty: 'No history yet.' });
}

/** A "History" disclosure that loads when opened. */
export function historyPanel(path, caption) {
  const body = h('div', {}, h('p', { class: 'muted', text: 'Loading…' }));
  const details = h('details', { class: 'card' }, h('summary', { text: caption }), body);
  let loaded = false;
  details.addEventListener('toggle', async () => {
    if (!details.open || loaded) return;
    loaded = true;
    try {
      const entries = await get(path);
      body.replaceChildren(historyTable(entries, { caption }));
    } catch (e) {
      body.replaceChildren(errorNotice(e));
      loaded = false;
    }
  });
  return details;
}
