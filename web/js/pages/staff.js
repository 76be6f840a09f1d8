// Staff: list, create, edit, delete; on a member's page, photo enrollment by
// drag and drop (one POST /api/v1/staff/{id}/faces per photo, each with its own
// result line, so "no face found" on one photo does not hide the others) and
// the enrolled faces.

import * as api from '../api.js';
import { act, clear, fmtTime, h, PagedTable, shortId, toast } from '../ui.js';

const MAX_PHOTO_BYTES = 8 * 1024 * 1024;

export async function render(view, params) {
  if (params.id) return renderMember(view, params.id);
  return renderList(view);
}

function renderList(view) {
  const table = new PagedTable({
    empty: 'No staff yet. Add the first member above.',
    load: (cursor, limit) => api.list('/staff', { cursor, limit }),
    columns: [
      { title: 'Name', render: s => h('a', { href: `#/staff/${encodeURIComponent(s.id)}` }, s.name || '(no name)') },
      { title: 'Email', render: s => s.email || '—' },
      { title: 'Faces', render: s => String(s.face_count ?? (Array.isArray(s.faces) ? s.faces.length : '—')) },
      { title: 'Added', render: s => fmtTime(s.created_at) },
      {
        title: '', render: s => h('div', { class: 'row-actions' },
          h('a', { href: `#/staff/${encodeURIComponent(s.id)}` }, 'Open'),
          h('button', { type: 'button', class: 'danger', onclick: ev => deleteMember(s, ev.currentTarget, () => table.refresh()) }, 'Delete')),
      },
    ],
  });
  const name = h('input', { name: 'name', id: 'staff-name', required: true, maxlength: 200, placeholder: 'Full name' });
  const email = h('input', { name: 'email', id: 'staff-email', type: 'email', maxlength: 200, placeholder: 'optional' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Add staff member');
  const form = h('form', {
    class: 'inline', id: 'staff-create',
    onsubmit: async (e) => {
      e.preventDefault();
      const body = { name: name.value.trim() };
      if (email.value.trim()) body.email = email.value.trim();
      const created = await act(() => api.post('/staff', body), `Added ${body.name}.`, button);
      if (created && created.id) location.hash = `#/staff/${encodeURIComponent(created.id)}`;
    },
  }, h('label', {}, 'Name', name), h('label', {}, 'Email', email), button);
  view.append(h('h1', {}, 'Staff'),
    h('section', { class: 'panel' }, h('h2', {}, 'Add a staff member'), form),
    h('section', { class: 'panel' }, table.el));
  table.reload();
}

async function deleteMember(s, button, after) {
  if (!confirm(`Delete ${s.name || 'this staff member'} and their enrolled faces?`)) return;
  const ok = await act(() => api.del(`/staff/${encodeURIComponent(s.id)}`), `Deleted ${s.name || 'staff member'}.`, button);
  if (ok !== undefined) after();
}

// Where an enrolled face's image can be fetched: the API's own link when it
// gives one, else its snapshot, else the conventional faces/{id}/image route.
function faceImageUrl(staffId, f) {
  if (f.image_url) return f.image_url;
  if (f.snapshot_id) return api.snapshotUrl(f.snapshot_id);
  return `/api/v1/staff/${encodeURIComponent(staffId)}/faces/${encodeURIComponent(f.id || f.face_id)}/image`;
}

async function renderMember(view, id) {
  const path = `/staff/${encodeURIComponent(id)}`;
  let member;
  try {
    member = await api.get(path);
  } catch (e) {
    view.append(h('p', {}, h('a', { href: '#/staff' }, '‹ Staff')),
      h('p', { class: 'form-error', role: 'alert' }, `Could not load this staff member: ${e.message}`));
    return undefined;
  }
  const title = h('h1', {}, member.name || 'Staff member');
  const name = h('input', { name: 'name', id: 'edit-name', required: true, maxlength: 200, value: member.name || '' });
  const email = h('input', { name: 'email', id: 'edit-email', type: 'email', maxlength: 200, value: member.email || '' });
  const notes = h('input', { name: 'notes', id: 'edit-notes', maxlength: 1000, value: member.notes || '' });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save');
  const editForm = h('form', {
    class: 'inline', id: 'staff-edit',
    onsubmit: async (e) => {
      e.preventDefault();
      const body = { name: name.value.trim(), email: email.value.trim() || null, notes: notes.value.trim() || null };
      const updated = await act(() => api.update(path, body), 'Saved.', save);
      if (updated !== undefined) title.textContent = (updated && updated.name) || body.name;
    },
  }, h('label', {}, 'Name', name), h('label', {}, 'Email', email), h('label', {}, 'Notes', notes), save,
  h('button', { type: 'button', class: 'danger', onclick: ev => deleteMember(member, ev.currentTarget, () => { location.hash = '#/staff'; }) }, 'Delete'));

  const faces = h('div', { class: 'faces', id: 'faces' });
  const facesNote = h('p', { class: 'muted small' });
  async function loadFaces() {
    let list = null;
    try {
      const fresh = await api.get(path);
      if (Array.isArray(fresh.faces)) list = fresh.faces;
    } catch { /* fall through to the faces route */ }
    if (!list) {
      try {
        list = (await api.list(`${path}/faces`, { limit: 100 })).items;
      } catch (e) {
        clear(faces);
        facesNote.textContent = `Could not load enrolled faces: ${e.message}`;
        return;
      }
    }
    clear(faces);
    facesNote.textContent = list.length ? `${list.length} enrolled face${list.length === 1 ? '' : 's'}.`
      : 'No face enrolled yet: drop a photo above. Recognition needs at least one.';
    for (const f of list) {
      const fid = f.id || f.face_id;
      const img = h('img', { alt: 'enrolled face', loading: 'lazy', src: faceImageUrl(id, f) });
      img.addEventListener('error', () => { img.removeAttribute('src'); img.alt = 'image unavailable'; }, { once: true });
      faces.append(h('div', { class: 'face', dataset: { faceId: fid || '' } }, img,
        h('span', { class: 'muted' }, f.created_at ? fmtTime(f.created_at) : shortId(fid)),
        fid ? h('button', {
          type: 'button', class: 'link danger',
          onclick: async (ev) => {
            if (!confirm('Remove this enrolled face?')) return;
            const r = await act(() => api.del(`${path}/faces/${encodeURIComponent(fid)}`), 'Face removed.', ev.currentTarget);
            if (r !== undefined) loadFaces();
          },
        }, 'Remove') : null));
    }
  }

  const uploads = h('ul', { class: 'uploads', id: 'uploads' });
  const fileInput = h('input', { type: 'file', accept: 'image/jpeg,image/png,image/webp', multiple: true, hidden: true, id: 'photo-input' });
  const drop = h('div', { class: 'dropzone', id: 'dropzone', tabindex: 0, role: 'button' },
    'Drop photos here, or click to choose. One face per photo; JPEG or PNG.');
  drop.addEventListener('click', () => fileInput.click());
  drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); fileInput.click(); } });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    uploadAll([...e.dataTransfer.files]);
  });
  fileInput.addEventListener('change', () => { uploadAll([...fileInput.files]); fileInput.value = ''; });

  async function uploadOne(file) {
    const status = h('span', { class: 'muted' }, 'uploading…');
    const thumb = h('img', { class: 'crop small', alt: '' });
    const url = URL.createObjectURL(file);
    thumb.src = url;
    const row = h('li', { dataset: { file: file.name } }, thumb, h('span', {}, file.name), status);
    uploads.prepend(row);
    const fail = (msg) => { status.className = 'bad'; status.textContent = msg; row.dataset.result = 'error'; };
    if (!file.type.startsWith('image/')) { fail('not an image'); return false; }
    if (file.size > MAX_PHOTO_BYTES) { fail('too large (8 MB at most)'); return false; }
    try {
      await api.request('POST', `${path}/faces`, { body: file, headers: { 'Content-Type': file.type } });
      status.className = 'ok';
      status.textContent = 'enrolled';
      row.dataset.result = 'ok';
      return true;
    } catch (e) {
      // 422 carries the reason in the API's words ("no face found", "2 faces found").
      fail(e.status === 422 ? e.message : `failed: ${e.message}`);
      return false;
    }
  }

  async function uploadAll(files) {
    if (!files.length) return;
    let ok = 0;
    for (const f of files) if (await uploadOne(f)) ok++;
    const bad = files.length - ok;
    if (bad === 0) toast(`${ok} photo${ok === 1 ? '' : 's'} enrolled.`);
    else toast(`${ok} enrolled, ${bad} refused — see the reasons next to each photo.`, 'error');
    if (ok) loadFaces();
  }

  view.append(h('p', {}, h('a', { href: '#/staff' }, '‹ Staff')), title,
    h('section', { class: 'panel' }, h('h2', {}, 'Details'), editForm,
      h('p', { class: 'muted small mono' }, `id ${member.id}`)),
    h('section', { class: 'panel' }, h('h2', {}, 'Enroll photos'), drop, fileInput, uploads),
    h('section', { class: 'panel' }, h('h2', {}, 'Enrolled faces'), facesNote, faces));
  await loadFaces();
  return undefined;
}
