// The filter bar shared by visits and events: site, camera, staff, customer,
// from, to. values() gives the query parameters DESIGN.md §4 names.

import { h, localToIso } from '../ui.js';

// names: from loadNames() (names.js); its lists fill the select boxes.
export function filterBar({ onApply, initial = {}, names }) {
  const site = h('select', { name: 'site', id: 'f-site' }, h('option', { value: '' }, 'All sites'));
  const camera = h('select', { name: 'camera', id: 'f-camera' }, h('option', { value: '' }, 'All cameras'));
  const staff = h('select', { name: 'staff', id: 'f-staff' }, h('option', { value: '' }, 'Anyone'));
  const customer = h('input', { name: 'customer', id: 'f-customer', placeholder: 'customer id', value: initial.customer || '' });
  const from = h('input', { type: 'datetime-local', name: 'from', id: 'f-from' });
  const to = h('input', { type: 'datetime-local', name: 'to', id: 'f-to' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h('form', {
    class: 'filters',
    onsubmit: (e) => {
      e.preventDefault();
      error.textContent = '';
      if (from.value && to.value && from.value > to.value) { error.textContent = '"From" is after "to".'; return; }
      onApply();
    },
  },
  h('label', {}, 'Site', site), h('label', {}, 'Camera', camera), h('label', {}, 'Staff', staff),
  h('label', {}, 'Customer', customer), h('label', {}, 'From', from), h('label', {}, 'To', to),
  h('button', { type: 'submit', class: 'primary' }, 'Apply'),
  h('button', { type: 'reset', onclick: () => setTimeout(onApply, 0) }, 'Clear'));

  const fill = (select, items) => { for (const it of items) select.append(h('option', { value: it.id }, it.name || it.id)); };
  fill(site, names.lists.site);
  fill(camera, names.lists.camera);
  fill(staff, names.lists.staff);
  if (names.failed.length) error.textContent = `Some filter choices could not be loaded (${names.failed.join(', ')}).`;

  return {
    el: h('div', {}, form, error),
    values: () => ({
      site: site.value, camera: camera.value, staff: staff.value, customer: customer.value.trim(),
      from: localToIso(from.value), to: localToIso(to.value),
    }),
  };
}
