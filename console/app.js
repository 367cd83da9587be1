// The console's entry point: the session, the bar, and the router. Pages
// are modules loaded when first visited (the first load carries only what
// signing in needs). Routes live in the URL's fragment: #/keys, #/vault/…

import { call, onSessionEnded } from './lib/api.js';
import { announce, clear, errorNotice, h } from './lib/dom.js';

const PAGES = {
  keys: () => import('./pages/keys.js'),
  vault: () => import('./pages/vault.js'),
  operators: () => import('./pages/operators.js'),
  groups: () => import('./pages/groups.js'),
  history: () => import('./pages/history.js'),
  outbox: () => import('./pages/outbox.js'),
};

const main = document.getElementById('main');
const bar = document.getElementById('bar');
const who = document.getElementById('who');
let session = null;
let routeToken = 0;

/** What every page is given. */
const ctx = {
  get session() { return session; },
  /** Whether the signed-in key holds this permission. */
  can(permission) { return !!session && session.Permissions.includes(permission); },
  get isAdministrator() { return !!session && session.IsAdministrator; },
  navigate(path) { location.hash = `#/${path}`; },
  /** Draws the current page again (after a change), keeping the place. */
  refresh() { return route(false); },
  announce,
};

/** The route: #/vault/GUID?Kind=x → {page: 'vault', params: ['GUID'], query}. */
function parseHash() {
  const raw = location.hash.startsWith('#/') ? location.hash.slice(2) : '';
  const [path, search = ''] = raw.split('?');
  const [page, ...params] = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { page, params, query: new URLSearchParams(search) };
}

function defaultPage() {
  if (ctx.can('ApiKey.Read') && ctx.isAdministrator) return 'keys';
  return 'vault';
}

function markNavigation(page) {
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#/${page}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function route(moveFocus = true) {
  if (!session) return;
  const { page, params, query } = parseHash();
  if (!PAGES[page]) {
    location.replace(`#/${defaultPage()}`);
    return;
  }
  markNavigation(page);
  const token = ++routeToken;
  const hadFocus = document.activeElement && document.activeElement !== document.body && main.contains(document.activeElement);
  let module;
  try {
    module = await PAGES[page]();
  } catch (e) {
    clear(main).append(errorNotice(new Error('This page could not be loaded; reload the console.')));
    return;
  }
  if (token !== routeToken) return;
  const fresh = h('div', { class: 'page' });
  try {
    await module.render(fresh, ctx, params, query);
  } catch (e) {
    if (e && e.status === 401) return;
    fresh.append(errorNotice(e));
  }
  if (token !== routeToken || !session) return;
  clear(main).append(fresh);
  document.title = `${module.title || 'coffre'} · coffre`;
  if (moveFocus || (hadFocus && !main.contains(document.activeElement))) {
    const heading = main.querySelector('h1');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    } else main.focus();
  }
}

function closeDialogs() {
  for (const d of document.querySelectorAll('dialog')) {
    d.close();
    d.remove();
  }
}

async function showSignIn(message) {
  session = null;
  closeDialogs();
  bar.hidden = true;
  who.textContent = '';
  document.title = 'Sign in · coffre';
  const { render } = await import('./pages/signin.js');
  clear(main);
  render(main, { message, signedIn });
}

function signedIn(info) {
  session = info;
  clear(main).append(h('p', { class: 'muted', text: 'Loading\u2026' }));
  bar.hidden = false;
  who.textContent = `${info.Name} · ${info.MaskedKey}`;
  const { page } = parseHash();
  if (PAGES[page]) route(true);
  else location.hash = `#/${defaultPage()}`;
}

async function signOut() {
  try {
    await call('DELETE', '/v4/Session', undefined, { signIn: true });
  } catch (e) {
    // Signed out either way: the server forgets the session, the page too.
  }
  await showSignIn('You have signed out.');
}

onSessionEnded((error) => showSignIn(error.message));

document.getElementById('signout').addEventListener('click', signOut);
document.getElementById('skip').addEventListener('click', (e) => {
  e.preventDefault();
  (main.querySelector('h1') || main).focus();
});
window.addEventListener('hashchange', () => route(true));

async function start() {
  try {
    signedIn(await call('GET', '/v4/Session', undefined, { signIn: true }));
  } catch (e) {
    if (e.status === 401) await showSignIn();
    else clear(main).append(errorNotice(e));
  }
}

start();
