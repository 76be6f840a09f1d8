// Small DOM helpers shared by the pages: an element builder (text is always set
// as text, never parsed as HTML, so names and messages from the API cannot
// inject markup), toasts, formatting, and a cursor-paginated table.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'hidden') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

export function toast(message, kind = 'ok', ms = 4000) {
  const box = document.getElementById('toasts');
  const t = h('div', { class: `toast ${kind === 'error' ? 'error' : ''}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  box.append(t);
  while (box.children.length > 3) box.firstChild.remove();  // newest three stay readable
  setTimeout(() => t.remove(), kind === 'error' ? ms * 2 : ms);
}

// Runs an action, showing its success message or its error. Returns the
// action's result, or undefined when it failed.
export async function act(fn, successMessage, button) {
  if (button) button.disabled = true;
  try {
    const r = await fn();
    if (successMessage) toast(successMessage);
    return r;
  } catch (e) {
    toast(e.message || String(e), 'error');
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

export function fmtAgo(iso) {
  if (!iso) return '—';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return String(iso);
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 2) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return fmtTime(iso);
}

export function fmtNum(n, digits = 1) {
  if (n === undefined || n === null || Number.isNaN(Number(n))) return '—';
  return Number(n).toFixed(digits);
}

// State words from workers and cameras → badge colour.
export function stateBadge(state) {
  const s = String(state || 'unknown');
  const kind = ['online', 'running', 'enabled', 'ok'].includes(s) ? 'ok'
    : ['starting', 'connecting', 'registering', 'retrying', 'reconnecting', 'draining', 'unassigned', 'pending'].includes(s) ? 'warn'
    : ['offline', 'failed', 'error', 'stopped', 'disabled'].includes(s) ? 'bad' : 'muted';
  return h('span', { class: `badge ${kind}` }, s);
}

export function shortId(id) {
  if (!id) return '—';
  const s = String(id);
  return s.length > 12 ? `${s.slice(0, 8)}…` : s;
}

// A table over a cursor-paginated list endpoint.
//   new PagedTable({columns: [{title, render(item) → Node|string, class}], load(cursor, limit) → {items,next_cursor}, empty, id})
// The cursors of earlier pages are kept on a stack so "Previous" works with
// forward-only cursors.
export class PagedTable {
  constructor({ columns, load, empty = 'Nothing here yet.', pageSize = 25, id }) {
    this.columns = columns;
    this.loadPage = load;
    this.emptyText = empty;
    this.pageSize = pageSize;
    this.stack = [];     // cursors of the pages before the current one
    this.cursor = null;  // cursor of the current page (null: first)
    this.next = null;
    this.tbody = h('tbody');
    this.status = h('span', { class: 'muted small' });
    this.prevBtn = h('button', { type: 'button', onclick: () => this.prev() }, '‹ Previous');
    this.nextBtn = h('button', { type: 'button', onclick: () => this.forward() }, 'Next ›');
    this.el = h('div', { class: 'paged' },
      h('div', { class: 'table-wrap' },
        h('table', { id, class: 'stack' }, h('thead', {}, h('tr', {}, columns.map(c => h('th', {}, c.title)))), this.tbody)),
      h('div', { class: 'pager' }, this.status, this.prevBtn, this.nextBtn));
  }

  async reload() { this.stack = []; this.cursor = null; return this.show(); }
  async refresh() { return this.show(); }
  async forward() {
    if (!this.next) return;
    this.stack.push(this.cursor);
    this.cursor = this.next;
    await this.show();
  }
  async prev() {
    if (!this.stack.length) return;
    this.cursor = this.stack.pop();
    await this.show();
  }

  async show() {
    this.prevBtn.disabled = true;
    this.nextBtn.disabled = true;
    this.status.textContent = 'Loading…';
    try {
      const page = await this.loadPage(this.cursor, this.pageSize);
      this.next = page.next_cursor;
      clear(this.tbody);
      if (!page.items.length) {
        this.tbody.append(h('tr', {}, h('td', { class: 'empty', colspan: this.columns.length }, this.emptyText)));
      }
      for (const item of page.items) {
        this.tbody.append(h('tr', { dataset: { id: item.id || '' } },
          this.columns.map(c => h('td', { class: c.class, 'data-label': c.title || null }, c.render(item)))));
      }
      const n = this.stack.length;
      this.status.textContent = `Page ${n + 1}`;
      this.prevBtn.disabled = n === 0;
      this.nextBtn.disabled = !this.next;
    } catch (e) {
      clear(this.tbody);
      this.tbody.append(h('tr', {}, h('td', { class: 'empty', colspan: this.columns.length },
        h('span', { class: 'form-error', role: 'alert' }, `Could not load: ${e.message}`))));
      this.status.textContent = '';
      this.prevBtn.disabled = this.stack.length === 0;
    }
  }
}

// A labelled input. type 'select' takes options [{value,label}].
export function field(label, attrs = {}, options) {
  const control = attrs.type === 'select'
    ? h('select', { ...attrs, type: undefined }, (options || []).map(o => h('option', { value: o.value }, o.label)))
    : h('input', attrs);
  return h('label', {}, label, control);
}

// Datetime-local value ("2026-11-28T09:00") → ISO-8601 UTC, or '' when empty.
export function localToIso(v) {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

export function downloadBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
