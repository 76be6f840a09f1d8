// Cameras and sites: add a camera (stream URL, local device index or file
// path), enable/disable it, see which worker runs it, open its live view.
// Sites are managed here too because every camera belongs to one.

import * as api from '../api.js';
import { act, clear, h, PagedTable, shortId, stateBadge } from '../ui.js';

// Turns the form's "kind + value" into the camera url the worker understands
// (src/vision/frame_source.h): a URL, a device index "0", or an absolute path.
export function sourceUrl(kind, value) {
  const v = value.trim();
  if (kind === 'device') {
    if (!/^\d+$/.test(v)) throw new Error('A device index is a number such as 0.');
    return v;
  }
  if (kind === 'file') {
    if (!v.startsWith('/')) throw new Error('A file or folder must be an absolute path on the worker, e.g. /videos/door.mp4.');
    return v;
  }
  if (!/^(rtsps?|https?|mock):\/\//i.test(v)) throw new Error('A stream URL starts with rtsp://, rtsps://, http:// or https://.');
  return v;
}

export async function render(view) {
  let sites = [];
  const siteSelect = h('select', { name: 'site_id', id: 'camera-site' });
  async function loadSites() {
    try {
      sites = await api.listAll('/sites');
    } catch (e) {
      sites = [];
      siteError.textContent = `Could not load sites: ${e.message}`;
    }
    clear(siteSelect).append(h('option', { value: '' }, sites.length ? '(choose a site)' : '(no site)'),
      ...sites.map(s => h('option', { value: s.id }, s.name || s.id)));
    if (sites.length === 1) siteSelect.value = sites[0].id;
    siteTable.refresh();
  }
  const siteName = (id) => { const s = sites.find(x => x.id === id); return s ? (s.name || s.id) : (id ? shortId(id) : '—'); };

  const cameraTable = new PagedTable({
    empty: 'No cameras yet. Add one above; a MOCK_MODE worker also brings its own.',
    load: (cursor, limit) => api.list('/cameras', { cursor, limit }),
    columns: [
      { title: 'Camera', render: c => h('div', {}, h('div', {}, c.name || shortId(c.id)), h('div', { class: 'muted small mono' }, c.url || '')) },
      { title: 'Site', render: c => siteName(c.site_id) },
      { title: 'State', render: c => (c.enabled === false ? stateBadge('disabled') : stateBadge(c.state || (c.worker_id ? 'assigned' : 'unassigned'))) },
      { title: 'Worker', render: c => h('span', { class: 'mono', title: c.worker_id || '' }, c.worker_id ? shortId(c.worker_id) : 'unassigned') },
      {
        title: '', render: c => h('div', { class: 'row-actions' },
          h('a', { href: `#/cameras/${encodeURIComponent(c.id)}/live` }, 'Live view'),
          h('button', {
            type: 'button', dataset: { action: 'toggle' },
            onclick: async (ev) => {
              const enabled = c.enabled === false;
              const r = await act(() => api.update(`/cameras/${encodeURIComponent(c.id)}`, { enabled }),
                `${c.name || 'Camera'} ${enabled ? 'enabled' : 'disabled'}.`, ev.currentTarget);
              if (r !== undefined) cameraTable.refresh();
            },
          }, c.enabled === false ? 'Enable' : 'Disable'),
          h('button', {
            type: 'button', class: 'danger',
            onclick: async (ev) => {
              if (!confirm(`Remove camera ${c.name || c.id}?`)) return;
              const r = await act(() => api.del(`/cameras/${encodeURIComponent(c.id)}`), 'Camera removed.', ev.currentTarget);
              if (r !== undefined) cameraTable.refresh();
            },
          }, 'Remove')),
      },
    ],
  });

  const siteTable = new PagedTable({
    empty: 'No sites yet.',
    pageSize: 10,
    load: (cursor, limit) => api.list('/sites', { cursor, limit }),
    columns: [
      { title: 'Site', render: s => s.name || shortId(s.id) },
      { title: 'Timezone', render: s => s.timezone || '—' },
      {
        title: '', render: s => h('button', {
          type: 'button', class: 'danger',
          onclick: async (ev) => {
            if (!confirm(`Remove site ${s.name || s.id}?`)) return;
            const r = await act(() => api.del(`/sites/${encodeURIComponent(s.id)}`), 'Site removed.', ev.currentTarget);
            if (r !== undefined) loadSites();
          },
        }, 'Remove'),
      },
    ],
  });

  // Add-camera form.
  const camName = h('input', { name: 'name', id: 'camera-name', required: true, maxlength: 200, placeholder: 'Front door' });
  const kind = h('select', { name: 'kind', id: 'camera-kind' },
    h('option', { value: 'url' }, 'Stream URL (RTSP/HTTP)'),
    h('option', { value: 'device' }, 'Local device index'),
    h('option', { value: 'file' }, 'Video file or image folder'));
  const source = h('input', { name: 'url', id: 'camera-url', required: true, placeholder: 'rtsp://user:pass@10.0.0.5/stream' });
  const placeholders = { url: 'rtsp://user:pass@10.0.0.5/stream', device: '0', file: '/videos/door.mp4' };
  kind.addEventListener('change', () => { source.placeholder = placeholders[kind.value]; });
  const fps = h('input', { name: 'fps', id: 'camera-fps', type: 'number', min: 0.5, max: 60, step: 0.5, placeholder: '5' });
  const enabled = h('input', { type: 'checkbox', name: 'enabled', id: 'camera-enabled', checked: true });
  const addBtn = h('button', { type: 'submit', class: 'primary' }, 'Add camera');
  const camError = h('p', { class: 'form-error', role: 'alert' });
  const camForm = h('form', {
    class: 'inline', id: 'camera-create',
    onsubmit: async (e) => {
      e.preventDefault();
      camError.textContent = '';
      let url;
      try { url = sourceUrl(kind.value, source.value); } catch (err) { camError.textContent = err.message; return; }
      const body = { name: camName.value.trim(), url, enabled: enabled.checked };
      if (siteSelect.value) body.site_id = siteSelect.value;
      if (fps.value) body.fps = Number(fps.value);
      const r = await act(() => api.post('/cameras', body), `Added camera ${body.name}.`, addBtn);
      if (r !== undefined) { camName.value = ''; source.value = ''; cameraTable.reload(); }
    },
  }, h('label', {}, 'Name', camName), h('label', {}, 'Source', kind), h('label', {}, 'URL / index / path', source),
  h('label', {}, 'Site', siteSelect), h('label', {}, 'FPS', fps), h('label', { class: 'check' }, enabled, ' Enabled'), addBtn);

  // Add-site form.
  const siteNameInput = h('input', { name: 'name', id: 'site-name', required: true, maxlength: 200, placeholder: 'Main street shop' });
  const tz = h('input', { name: 'timezone', id: 'site-tz', maxlength: 64,
    value: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' });
  const siteBtn = h('button', { type: 'submit' }, 'Add site');
  const siteError = h('p', { class: 'form-error', role: 'alert' });
  const siteForm = h('form', {
    class: 'inline', id: 'site-create',
    onsubmit: async (e) => {
      e.preventDefault();
      const body = { name: siteNameInput.value.trim(), timezone: tz.value.trim() || 'UTC' };
      const r = await act(() => api.post('/sites', body), `Added site ${body.name}.`, siteBtn);
      if (r !== undefined) { siteNameInput.value = ''; loadSites(); }
    },
  }, h('label', {}, 'Site name', siteNameInput), h('label', {}, 'Timezone', tz), siteBtn);

  view.append(h('h1', {}, 'Cameras'),
    h('section', { class: 'panel' }, h('h2', {}, 'Add a camera'), camForm, camError),
    h('section', { class: 'panel' }, cameraTable.el),
    h('section', { class: 'panel' }, h('h2', {}, 'Sites'), siteForm, siteError, siteTable.el));
  await loadSites();
  await cameraTable.reload();
}
