// Dashboard shell: hash routes, sign-in gate, navigation and the live-feed
// indicator. Each page module exports render(view, params) and may return a
// cleanup function that runs when the user navigates away (closing streams,
// timers, feed subscriptions).

import * as api from './api.js';
import { liveFeed } from './live.js';
import { clear, h, toast } from './ui.js';
import * as signin from './pages/signin.js';
import * as overview from './pages/overview.js';
import * as cameras from './pages/cameras.js';
import * as live from './pages/live.js';
import * as staff from './pages/staff.js';
import * as customers from './pages/customers.js';
import * as visits from './pages/visits.js';
import * as events from './pages/events.js';
import * as reports from './pages/reports.js';

// [pattern, page, nav key]; ":name" segments become params.
const routes = [
  ['signin', signin, null],
  ['overview', overview, 'overview'],
  ['cameras', cameras, 'cameras'],
  ['cameras/:id/live', live, 'cameras'],
  ['staff', staff, 'staff'],
  ['staff/:id', staff, 'staff'],
  ['customers', customers, 'customers'],
  ['customers/:id', customers, 'customers'],
  ['visits', visits, 'visits'],
  ['events', events, 'events'],
  ['reports', reports, 'reports'],
];

const view = document.getElementById('view');
const topbar = document.getElementById('topbar');
const nav = document.getElementById('nav');
const menuToggle = document.getElementById('menu-toggle');
let signedIn = false;
let cleanup = null;
let renderSeq = 0;

function matchRoute(path) {
  const segs = path.split('/').filter(Boolean);
  for (const [pattern, page, key] of routes) {
    const ps = pattern.split('/');
    if (ps.length !== segs.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < ps.length; i++) {
      if (ps[i].startsWith(':')) params[ps[i].slice(1)] = decodeURIComponent(segs[i]);
      else if (ps[i] !== segs[i]) { ok = false; break; }
    }
    if (ok) return { page, key, params };
  }
  return null;
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  return { path: path || 'overview', query: new URLSearchParams(qs || '') };
}

async function render() {
  const seq = ++renderSeq;
  if (cleanup) { try { cleanup(); } catch (e) { console.error(e); } cleanup = null; }
  const { path, query } = parseHash();
  let m = matchRoute(path);
  if (!signedIn && path !== 'signin') {
    location.replace('#/signin');
    return;
  }
  if (signedIn && path === 'signin') { location.replace('#/overview'); return; }
  topbar.hidden = !signedIn;
  nav.classList.remove('open');
  menuToggle.setAttribute('aria-expanded', 'false');
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', m && a.dataset.route === m.key);
  clear(view);
  if (!m) {
    view.append(h('div', { class: 'panel' }, h('h1', {}, 'Page not found'),
      h('a', { href: '#/overview' }, 'Back to the overview')));
    return;
  }
  try {
    const c = await m.page.render(view, { ...m.params, query }, { onSignedIn });
    if (seq !== renderSeq) { if (typeof c === 'function') c(); return; }
    cleanup = typeof c === 'function' ? c : null;
  } catch (e) {
    console.error(e);
    view.append(h('p', { class: 'form-error', role: 'alert' }, `This page failed to load: ${e.message}`));
  }
}

function onSignedIn() {
  signedIn = true;
  liveFeed.start();
  location.hash = '#/overview';
}

function signedOut(message) {
  signedIn = false;
  liveFeed.stop();
  if (message) toast(message, 'error');
  if (location.hash !== '#/signin') location.hash = '#/signin';
  else render();
}

api.setUnauthorizedHandler(() => {
  if (signedIn) signedOut('Your session has ended. Please sign in again.');
});

menuToggle.addEventListener('click', () => {
  const open = nav.classList.toggle('open');
  menuToggle.setAttribute('aria-expanded', String(open));
});
document.getElementById('signout').addEventListener('click', async () => {
  try { await api.signOut(); } catch (e) { toast(`Sign-out failed: ${e.message}`, 'error'); return; }
  toast('Signed out.');
  signedOut();
});
const liveState = document.getElementById('live-state');
liveFeed.onState((on) => {
  liveState.classList.toggle('on', on);
  liveState.classList.toggle('off', !on);
  liveState.title = on ? 'Live updates connected' : 'Live updates disconnected (retrying)';
  liveState.dataset.state = on ? 'on' : 'off';
});

window.addEventListener('hashchange', render);

(async function boot() {
  try {
    signedIn = await api.checkSession();
  } catch (e) {
    signedIn = false;
    toast(`Cannot check the session: ${e.message}`, 'error');
  }
  if (signedIn) liveFeed.start();
  render();
})();
