// Overview: the worker fleet, the cameras, and a live feed of face events.
// Workers and cameras refresh when /ws/live reports a worker change and every
// 10 s regardless (heartbeat ages keep moving); events stream in over /ws/live.

import * as api from '../api.js';
import { liveFeed, payloadOf } from '../live.js';
import { clear, fmtAgo, fmtNum, fmtTime, h, PagedTable, shortId, stateBadge } from '../ui.js';

const FEED_MAX = 50;

// Worker fps: the sum of its cameras' measured fps from the last heartbeat.
function workerFps(w) {
  const cams = (Array.isArray(w.camera_status) && w.camera_status)
    || (w.stats && Array.isArray(w.stats.cameras) && w.stats.cameras)
    || (Array.isArray(w.cameras) ? w.cameras.filter(c => c && typeof c === 'object') : []);
  if (typeof (w.stats && w.stats.fps) === 'number') return w.stats.fps;
  if (!cams.length) return null;
  return cams.reduce((s, c) => s + (Number(c.fps) || 0), 0);
}

function workerCameraIds(w) {
  if (!Array.isArray(w.cameras)) return [];
  return w.cameras.map(c => (typeof c === 'string' ? c : c && (c.id || c.camera_id))).filter(Boolean);
}

function lastHeartbeat(w) {
  return w.last_heartbeat_at || w.last_heartbeat || w.last_seen || (w.stats && w.stats.sent_at) || null;
}

// What the feed shows for one event: who (staff name, customer, or unknown).
function who(ev, staffNames) {
  if (ev.staff_id) return { label: ev.staff_name || staffNames.get(ev.staff_id) || `Staff ${shortId(ev.staff_id)}`, kind: 'staff' };
  if (ev.customer_id) {
    return { label: ev.customer_name || `Customer ${shortId(ev.customer_id)}`, kind: 'customer', id: ev.customer_id };
  }
  return { label: 'Unknown face', kind: 'unknown' };
}

export function snapshotIdOf(ev) {
  // The REST form names the crop (snapshot_id, null when there is none); a
  // live push that lacks the field falls back to the event id.
  if ('snapshot_id' in ev) return ev.snapshot_id || null;
  if (ev.has_snapshot === false) return null;
  return ev.event_id || ev.id || null;
}

export function cropImg(ev, cls = 'crop') {
  const sid = snapshotIdOf(ev);
  if (!sid) return h('span', { class: cls, title: 'no face crop' });
  const img = h('img', { class: cls, alt: 'face crop', loading: 'lazy', src: api.snapshotUrl(sid) });
  img.addEventListener('error', () => { img.alt = 'crop unavailable'; img.removeAttribute('src'); }, { once: true });
  return img;
}

export async function render(view) {
  const feed = h('ul', { class: 'feed', id: 'live-feed' });
  const feedState = h('span', { class: 'muted small' });
  const cameraNames = new Map();
  const staffNames = new Map();  // events carry staff ids; names come from /staff
  const workersSeen = new Map();  // id → last status, to tell state changes from routine heartbeats

  const workerTable = new PagedTable({
    id: 'workers',
    pageSize: 10,
    empty: 'No worker has registered yet.',
    load: (cursor, limit) => api.list('/workers', { cursor, limit }),
    columns: [
      { title: 'Worker', render: w => h('div', {}, h('div', {}, w.host || shortId(w.id)), h('div', { class: 'muted small mono' }, shortId(w.id))) },
      {
        title: 'State', class: 'w-state',
        render: (w) => {
          workersSeen.set(w.id, w.status);
          return [stateBadge(w.status), ' ', w.state && w.state !== w.status ? stateBadge(w.state) : ''];
        },
      },
      { title: 'FPS', class: 'w-fps', render: w => fmtNum(workerFps(w)) },
      {
        title: 'Cameras',
        render: (w) => {
          const ids = workerCameraIds(w);
          return ids.length ? ids.map(id => cameraNames.get(id) || shortId(id)).join(', ') : '—';
        },
      },
      { title: 'Last heartbeat', class: 'w-hb', render: w => h('span', { title: fmtTime(lastHeartbeat(w)) }, fmtAgo(lastHeartbeat(w))) },
    ],
  });
  const cameraTable = new PagedTable({
    id: 'overview-cameras',
    pageSize: 10,
    empty: 'No cameras yet.',
    load: async (cursor, limit) => {
      const page = await api.list('/cameras', { cursor, limit });
      for (const c of page.items) cameraNames.set(c.id, c.name || c.id);
      return page;
    },
    columns: [
      { title: 'Camera', render: c => c.name || shortId(c.id) },
      { title: 'State', render: c => (c.enabled === false ? stateBadge('disabled') : stateBadge(c.state || (c.worker_id ? 'assigned' : 'unassigned'))) },
      { title: 'Worker', render: c => h('span', { class: 'mono' }, c.worker_id ? shortId(c.worker_id) : '—') },
      { title: '', render: c => h('a', { href: `#/cameras/${encodeURIComponent(c.id)}/live` }, 'Live') },
    ],
  });

  view.append(
    h('h1', {}, 'Overview'),
    h('div', { class: 'grid two' },
      h('section', { class: 'panel' }, h('h2', {}, 'Workers'), workerTable.el),
      h('section', { class: 'panel' }, h('h2', {}, 'Cameras'), cameraTable.el)),
    h('section', { class: 'panel' }, h('h2', {}, 'Live feed ', feedState), feed));

  // A heartbeat push updates its row in place; a worker coming or going, or
  // one not shown yet, reloads the lists (cameras move with it).
  function onWorkerPush(w) {
    if (!w || !w.id) return;
    const row = workerTable.tbody.querySelector(`tr[data-id="${CSS.escape(w.id)}"]`);
    if (!row || workersSeen.get(w.id) !== w.status) { scheduleFleet(); return; }
    clear(row.querySelector('.w-state')).append(stateBadge(w.status), ' ', w.state && w.state !== w.status ? stateBadge(w.state) : '');
    if (Array.isArray(w.cameras)) row.querySelector('.w-fps').textContent = fmtNum(workerFps({ camera_status: w.cameras }));
    const hb = row.querySelector('.w-hb');
    clear(hb).append(h('span', { title: fmtTime(new Date().toISOString()) }, 'just now'));
  }

  // Cameras first: the workers table names them.
  async function loadFleet() {
    await cameraTable.refresh();
    await workerTable.refresh();
  }

  function feedItem(ev, isLive) {
    const p = who(ev, staffNames);
    const t = ev.captured_at || ev.created_at;
    return h('li', { dataset: { eventId: ev.event_id || ev.id || '', live: isLive ? '1' : '' }, class: isLive ? 'live' : '' },
      cropImg(ev),
      h('div', {},
        h('div', {}, p.id ? h('a', { href: `#/customers/${encodeURIComponent(p.id)}` }, p.label) : p.label,
          ev.new_customer ? h('span', { class: 'badge warn', style: 'margin-left:.4rem' }, 'new') : null,
          p.kind === 'staff' ? h('span', { class: 'badge ok', style: 'margin-left:.4rem' }, 'staff') : null),
        h('div', { class: 'muted small' },
          `${cameraNames.get(ev.camera_id) || shortId(ev.camera_id)} · ${fmtTime(t)}`,
          ev.staff_similarity != null ? ` · similarity ${fmtNum(ev.staff_similarity, 2)}` : '')));
  }

  function pushFeed(ev, isLive) {
    const id = ev.event_id || ev.id;
    if (id && feed.querySelector(`li[data-event-id="${CSS.escape(id)}"]`)) return;
    const empty = feed.querySelector('li.empty');
    if (empty) empty.remove();
    feed.prepend(feedItem(ev, isLive));
    while (feed.children.length > FEED_MAX) feed.lastChild.remove();
  }

  let fleetTimer = null;
  function scheduleFleet() {
    clearTimeout(fleetTimer);
    fleetTimer = setTimeout(() => { loadFleet(); }, 300);
  }

  await Promise.all([loadFleet(), api.listAll('/staff', {}, 5).then((all) => {
    for (const st of all) staffNames.set(st.id, st.name);
  }).catch(() => { /* names fall back to ids */ })]);
  try {
    const recent = await api.list('/events', { limit: 15 });
    for (const ev of recent.items.slice().reverse()) pushFeed(ev, false);
  } catch (e) {
    feed.append(h('li', { class: 'empty muted' }, `Could not load recent events: ${e.message}`));
  }
  if (!feed.children.length) feed.append(h('li', { class: 'empty muted' }, 'Waiting for face events…'));

  const unsub = liveFeed.subscribe((msg) => {
    if (msg.type === 'event') pushFeed(payloadOf(msg), true);
    else if (msg.type === 'worker') onWorkerPush(payloadOf(msg));
    else if (msg.type === 'camera') scheduleFleet();
  });
  const unsubState = liveFeed.onState((on) => {
    feedState.textContent = on ? '(live)' : '(reconnecting…)';
  });
  const poll = setInterval(loadFleet, 10000);
  return () => { unsub(); unsubState(); clearInterval(poll); clearTimeout(fleetTimer); };
}
