// Customers: search, rename, erase (DELETE removes the person everywhere), and
// one customer's visits.

import * as api from '../api.js';
import { act, fmtTime, h, PagedTable, shortId } from '../ui.js';
import { loadNames } from './names.js';
import { visitColumns } from './visits.js';

function displayName(c) { return c.name || `Customer ${shortId(c.id)}`; }

function thumb(c) {
  const sid = c.snapshot_id || c.face_snapshot_id;
  if (!sid) return h('span', { class: 'crop small' });
  const img = h('img', { class: 'crop small', alt: '', loading: 'lazy', src: api.snapshotUrl(sid) });
  img.addEventListener('error', () => img.removeAttribute('src'), { once: true });
  return img;
}

async function rename(c, button) {
  const name = prompt('Name for this customer (leave empty to make them anonymous again):', c.name || '');
  if (name === null) return undefined;
  return act(() => api.update(`/customers/${encodeURIComponent(c.id)}`, { name: name.trim() || null }),
    name.trim() ? `Renamed to ${name.trim()}.` : 'Name removed.', button);
}

async function erase(c, button) {
  if (!confirm(`Erase ${displayName(c)}? Their face data, snapshots and visits are deleted everywhere. This cannot be undone.`)) return undefined;
  return act(() => api.del(`/customers/${encodeURIComponent(c.id)}`), `${displayName(c)} erased.`, button);
}

export async function render(view, params) {
  if (params.id) return renderOne(view, params.id);
  const search = h('input', { type: 'search', id: 'customer-search', placeholder: 'Name or id', value: params.query.get('q') || '' });
  const table = new PagedTable({
    empty: 'No customers match.',
    load: (cursor, limit) => api.list('/customers', { cursor, limit, q: search.value.trim(), search: search.value.trim() }),
    columns: [
      { title: '', render: thumb },
      { title: 'Customer', render: c => h('a', { href: `#/customers/${encodeURIComponent(c.id)}` }, displayName(c)) },
      { title: 'Visits', render: c => String(c.visit_count ?? c.visits ?? '—') },
      { title: 'First seen', render: c => fmtTime(c.first_seen || c.first_seen_at || c.created_at) },
      { title: 'Last seen', render: c => fmtTime(c.last_seen || c.last_seen_at) },
      {
        title: '', render: c => h('div', { class: 'row-actions' },
          h('button', { type: 'button', onclick: async ev => { if (await rename(c, ev.currentTarget) !== undefined) table.refresh(); } }, 'Rename'),
          h('button', { type: 'button', class: 'danger', onclick: async ev => { if (await erase(c, ev.currentTarget) !== undefined) table.refresh(); } }, 'Erase')),
      },
    ],
  });
  let timer = null;
  search.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => table.reload(), 300); });
  view.append(h('h1', {}, 'Customers'),
    h('section', { class: 'panel' },
      h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); table.reload(); } },
        h('label', {}, 'Search', search), h('button', { type: 'submit' }, 'Search')),
      table.el));
  await table.reload();
  return () => clearTimeout(timer);
}

async function renderOne(view, id) {
  let c;
  try {
    c = await api.get(`/customers/${encodeURIComponent(id)}`);
  } catch (e) {
    view.append(h('p', {}, h('a', { href: '#/customers' }, '‹ Customers')),
      h('p', { class: 'form-error', role: 'alert' }, `Could not load this customer: ${e.message}`));
    return;
  }
  const title = h('h1', {}, displayName(c));
  const names = await loadNames();
  const visits = new PagedTable({
    empty: 'No visits recorded.',
    load: (cursor, limit) => api.list('/visits', { cursor, limit, customer: id }),
    columns: visitColumns({ showPerson: false, names }),
  });
  view.append(h('p', {}, h('a', { href: '#/customers' }, '‹ Customers')), title,
    h('section', { class: 'panel' },
      h('div', { style: 'display:flex;gap:1rem;align-items:center;flex-wrap:wrap' }, thumb(c),
        h('div', {},
          h('div', { class: 'muted small' }, `First seen ${fmtTime(c.first_seen || c.first_seen_at || c.created_at)} · last seen ${fmtTime(c.last_seen || c.last_seen_at)}`),
          h('div', { class: 'muted small mono' }, `id ${c.id}`))),
      h('div', { class: 'row-actions', style: 'margin-top:.75rem' },
        h('button', {
          type: 'button',
          onclick: async (ev) => {
            const r = await rename(c, ev.currentTarget);
            if (r === undefined) return;
            // The update answers with the customer; ask again if it did not.
            c = r && r.id ? r : await api.get(`/customers/${encodeURIComponent(id)}`).catch(() => c);
            title.textContent = displayName(c);
          },
        }, 'Rename'),
        h('button', { type: 'button', class: 'danger', onclick: async ev => { if (await erase(c, ev.currentTarget) !== undefined) location.hash = '#/customers'; } }, 'Erase'))),
    h('section', { class: 'panel' }, h('h2', {}, 'Visits'), visits.el));
  await visits.reload();
}
