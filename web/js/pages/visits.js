// Visits with filters and cursor pagination.

import * as api from '../api.js';
import { fmtTime, h, PagedTable, shortId } from '../ui.js';
import { filterBar } from './filters.js';
import { loadNames } from './names.js';

function duration(v) {
  const a = new Date(v.started_at || v.start).getTime();
  const b = new Date(v.ended_at || v.end || v.last_seen_at).getTime();
  if (!Number.isFinite(a) || !Number.isFinite(b) || b < a) return '—';
  const s = Math.round((b - a) / 1000);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

// names: optional loadNames() result, to show staff names.
export function person(v, names) {
  if (v.staff_id) {
    const label = v.staff_name || (names ? names.name('staff', v.staff_id) : `Staff ${shortId(v.staff_id)}`);
    return h('span', {}, label, ' ', h('span', { class: 'badge muted' }, 'staff'));
  }
  if (v.customer_id) {
    const a = h('a', { href: `#/customers/${encodeURIComponent(v.customer_id)}` }, v.customer_name || `Customer ${shortId(v.customer_id)}`);
    if (!v.customer_name && names) names.customerName(v.customer_id).then((n) => { if (n) a.textContent = n; });
    return a;
  }
  return '—';
}

export function visitColumns({ showPerson = true, names = null } = {}) {
  const cols = [];
  if (showPerson) cols.push({ title: 'Who', render: v => person(v, names) });
  cols.push(
    { title: 'Site', render: v => v.site_name || (names ? names.name('site', v.site_id) : shortId(v.site_id)) },
    { title: 'Arrived', render: v => fmtTime(v.started_at || v.start) },
    { title: 'Last seen', render: v => fmtTime(v.ended_at || v.end || v.last_seen_at) },
    { title: 'Stayed', render: duration },
    { title: 'Events', render: v => String(v.event_count ?? v.events ?? '—') },
  );
  return cols;
}

export async function render(view, params) {
  const names = await loadNames();
  const filters = filterBar({ onApply: () => table.reload(), initial: { customer: params.query.get('customer') }, names });
  const table = new PagedTable({
    empty: 'No visits match these filters.',
    load: (cursor, limit) => api.list('/visits', { ...filters.values(), cursor, limit }),
    columns: visitColumns({ names }),
  });
  view.append(h('h1', {}, 'Visits'), h('section', { class: 'panel' }, filters.el, table.el));
  await table.reload();
}
