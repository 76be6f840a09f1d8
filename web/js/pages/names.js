// Names for the ids that events and visits carry (site, camera, staff),
// fetched once per page render. A list that fails to load leaves its ids
// shown as short ids; `failed` says which, for the page to mention.

import * as api from '../api.js';
import { shortId } from '../ui.js';

export async function loadNames() {
  const kinds = { site: '/sites', camera: '/cameras', staff: '/staff' };
  const out = { lists: {}, failed: [] };
  await Promise.all(Object.entries(kinds).map(async ([kind, path]) => {
    try {
      out.lists[kind] = await api.listAll(path, {}, 5);
    } catch {
      out.lists[kind] = [];
      out.failed.push(path);
    }
  }));
  const maps = {};
  for (const [kind, items] of Object.entries(out.lists)) maps[kind] = new Map(items.map(x => [x.id, x.name || x.id]));
  // name('camera', id) → its name, else a short id, else '—'.
  out.name = (kind, id) => (id ? maps[kind].get(id) || shortId(id) : '—');
  // Customers are too many to list up front: each one shown is asked for once
  // (null while anonymous or when the request fails).
  const customers = new Map();
  out.customerName = (id) => {
    if (!customers.has(id)) {
      customers.set(id, api.get(`/customers/${encodeURIComponent(id)}`).then(c => (c && c.name) || null, () => null));
    }
    return customers.get(id);
  };
  return out;
}
