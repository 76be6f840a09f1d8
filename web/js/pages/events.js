// Face events with filters and cursor pagination; each row shows its crop.

import * as api from '../api.js';
import { fmtNum, fmtTime, h, PagedTable } from '../ui.js';
import { filterBar } from './filters.js';
import { cropImg } from './overview.js';
import { loadNames } from './names.js';
import { person } from './visits.js';

export async function render(view, params) {
  const names = await loadNames();
  const filters = filterBar({ onApply: () => table.reload(), initial: { customer: params.query.get('customer') }, names });
  const table = new PagedTable({
    empty: 'No events match these filters.',
    load: (cursor, limit) => api.list('/events', { ...filters.values(), cursor, limit }),
    columns: [
      { title: '', render: ev => cropImg(ev, 'crop small') },
      { title: 'Time', render: ev => fmtTime(ev.captured_at) },
      { title: 'Who', render: ev => (ev.staff_id || ev.customer_id ? person(ev, names) : 'unknown') },
      { title: 'Camera', render: ev => ev.camera_name || names.name('camera', ev.camera_id) },
      { title: 'Quality', render: ev => fmtNum(ev.quality, 2) },
      { title: 'Match', render: ev => (ev.staff_similarity != null ? fmtNum(ev.staff_similarity, 2) : '—') },
    ],
  });
  view.append(h('h1', {}, 'Events'), h('section', { class: 'panel' }, filters.el, table.el));
  await table.reload();
}
