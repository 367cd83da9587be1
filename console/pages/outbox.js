// The outbox as a mail client shows it: the messages, newest first, and
// the open one with its headers, its plain-text body and its delivery.

import { get, query } from '../lib/api.js';
import { badge, errorNotice, field, h, notice, select, toolbar } from '../lib/dom.js';
import { utc } from '../lib/format.js';

export const title = 'Outbox';

const KINDS = {
  KeyExpired: 'Key expired', ExpiryReminder: 'Expiry reminder',
  CertificateReminder: 'Certificate reminder', CertificateExpired: 'Certificate expired',
};

function message(m) {
  const facts = [
    ['To', m.To],
    ['Date', utc(m.CreatedAt)],
    ['Kind', KINDS[m.Kind] || m.Kind],
    m.OAuthClientGuid ? ['OAuth client', m.OAuthClientGuid] : ['API key', m.ApiKeyGuid],
  ];
  if (m.Status) {
    facts.push(['Delivery', m.Status + (m.Attempts ? `, ${m.Attempts} attempt${m.Attempts === 1 ? '' : 's'}` : '')]);
    if (m.SentAt) facts.push(['Sent', utc(m.SentAt)]);
    if (m.NextAttemptAt) facts.push(['Next attempt', utc(m.NextAttemptAt)]);
    if (m.LastError) facts.push(['Last error', m.LastError]);
    if (m.MessageId) facts.push(['Message-ID', m.MessageId]);
  }
  return h('article', { class: 'card message', 'aria-labelledby': 'message-subject' },
    h('header', {},
      h('h2', { id: 'message-subject', text: m.Subject }),
      h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })]))),
    h('pre', { text: m.Body }));
}

export async function render(main, ctx, params, q) {
  const kind = select([['', 'Every kind'], ...Object.entries(KINDS)], q.get('Kind') || '');
  const status = select([['', 'Any delivery'], ['Pending', 'Pending'], ['Sent', 'Sent'], ['Failed', 'Failed']], q.get('Status') || '');
  const form = h('form', { class: 'filters card', role: 'search', 'aria-label': 'Filter the outbox' },
    field('Kind', kind), field('Delivery', status),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', text: 'Filter' })));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/outbox${query({ Kind: kind.value, Status: status.value })}`;
  });
  main.append(toolbar('Outbox'), form);
  let messages;
  try {
    messages = await get(`/v4/Outbox${query({ Kind: q.get('Kind') || '', Status: q.get('Status') || '' })}`);
  } catch (e) {
    main.append(errorNotice(e));
    return;
  }
  if (!messages.length) {
    main.append(notice('', 'No messages. coffre writes one when an API key is about to expire and when it has expired.'));
    return;
  }
  const search = q.toString() ? `?${q.toString()}` : '';
  const open = messages.find((m) => m.OutboxMessageGuid === params[0]) || messages[0];
  const list = h('ul', { class: 'mail-list', 'aria-label': `${messages.length} messages, newest first` },
    messages.map((m) => h('li', {}, h('a', {
      href: `#/outbox/${m.OutboxMessageGuid}${search}`,
      'aria-current': m === open ? 'true' : null,
    },
    h('span', { class: 'subject', text: m.Subject }),
    h('span', { class: 'to', text: `To ${m.To}` }),
    h('span', { class: 'date', text: utc(m.CreatedAt) }),
    m.Status ? h('span', {}, badge(m.Status)) : null))));
  main.append(h('div', { class: 'mail' }, list, message(open)));
}
