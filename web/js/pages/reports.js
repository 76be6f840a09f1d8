// Visitor reports: per hour, per day, per weekday, new vs returning and per
// site over a date range, drawn with Chart.js (web/vendor/, copied from
// node_modules by scripts/web-vendor), plus CSV export of the same query.
//
// The API answers one bucket per request (?bucket=hour|day|weekday) with rows
// {site_id, bucket, visits, visitors, new_visitors, returning_visitors}
// (storage::ReportRow); the page asks for all three and derives the rest (new
// vs returning and per site from the day rows). A report that instead holds
// ready-made series (by_hour, by_day, ...) is read tolerantly as well.

import * as api from '../api.js';
import { act, clear, downloadBlob, h } from '../ui.js';

const SERIES = {
  hour: ['by_hour', 'per_hour', 'hourly', 'hours'],
  day: ['by_day', 'per_day', 'daily', 'days'],
  weekday: ['by_weekday', 'per_weekday', 'weekdays', 'weekday'],
  site: ['by_site', 'per_site', 'sites'],
};
const LABEL_KEYS = ['label', 'hour', 'day', 'date', 'weekday', 'site_name', 'name', 'site_id', 'key', 'bucket'];
const COUNT_KEYS = ['visitors', 'count', 'value', 'total', 'visits', 'unique_visitors'];
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function pick(obj, keys) {
  for (const k of keys) if (obj && obj[k] !== undefined && obj[k] !== null) return obj[k];
  return undefined;
}

// → [{label, value, row}] or null when the report has no such series.
export function readSeries(report, names) {
  const raw = pick(report, names);
  if (raw === undefined) return null;
  if (Array.isArray(raw)) {
    return raw.map((row) => {
      if (typeof row === 'number') return { label: '', value: row, row };
      return { label: pick(row, LABEL_KEYS), value: Number(pick(row, COUNT_KEYS)) || 0, row };
    }).map((r, i) => ({ ...r, label: r.label === undefined || r.label === '' ? String(i) : r.label }));
  }
  if (typeof raw === 'object') return Object.entries(raw).map(([label, v]) => ({ label, value: Number(v) || 0, row: v }));
  return null;
}

// {new, returning} from the report, wherever it keeps them.
export function readNewReturning(report) {
  const nr = pick(report, ['new_vs_returning', 'new_returning']) || (report && report.totals) || report;
  const n = pick(nr, ['new', 'new_visitors', 'new_customers']);
  const r = pick(nr, ['returning', 'returning_visitors', 'returning_customers']);
  if (n === undefined && r === undefined) return null;
  return { new: Number(n) || 0, returning: Number(r) || 0 };
}

// Row form: the list of report rows, or null when the body is not one.
export function rowsOf(body) {
  const rows = Array.isArray(body) ? body : body && (body.items || body.rows || body.buckets);
  if (!Array.isArray(rows)) return null;
  return rows.every(r => r && typeof r === 'object' && 'bucket' in r) ? rows : null;
}

function weekdayLabel(label) {
  const n = Number(label);
  if (!Number.isInteger(n)) return String(label);
  return WEEKDAYS[n % 7] || String(label);  // 0 (and 7, ISO) = Sunday
}

function hourLabel(label) {
  const n = Number(label);
  return Number.isInteger(n) ? `${String(n).padStart(2, '0')}:00` : String(label);
}

function dateInput(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export async function render(view) {
  const today = new Date();
  const weekAgo = new Date(today.getTime() - 6 * 86400000);
  const from = h('input', { type: 'date', id: 'r-from', value: dateInput(weekAgo), required: true });
  const to = h('input', { type: 'date', id: 'r-to', value: dateInput(today), required: true });
  const site = h('select', { id: 'r-site' }, h('option', { value: '' }, 'All sites'));
  const error = h('p', { class: 'form-error', role: 'alert', id: 'report-error' });
  const summary = h('p', { class: 'muted', id: 'report-summary' });
  const charts = h('div', { class: 'charts', id: 'charts' });
  const csvBucket = h('select', { id: 'r-csv-bucket' },
    h('option', { value: 'day' }, 'per day'), h('option', { value: 'hour' }, 'per hour'), h('option', { value: 'weekday' }, 'per weekday'));
  const csvBtn = h('button', { type: 'button', id: 'csv-export' }, 'Export CSV');
  let instances = [];

  function params() {
    // Whole days in the browser's time zone: [from 00:00, the day after "to" 00:00).
    const f = new Date(`${from.value}T00:00:00`);
    const t = new Date(`${to.value}T00:00:00`);
    t.setDate(t.getDate() + 1);
    return { from: f.toISOString(), to: t.toISOString(), site: site.value };
  }

  function destroyCharts() {
    for (const c of instances) c.destroy();
    instances = [];
  }

  // datasets: [{label, data}]; opts.stacked, opts.horizontal.
  function chartPanel(id, title, type, labels, datasets, opts = {}) {
    const canvas = h('canvas', { id: `chart-${id}`, role: 'img', 'aria-label': title });
    const panel = h('section', { class: 'panel', dataset: { chart: id } }, h('h2', {}, title), h('div', { class: 'chart-box' }, canvas));
    charts.append(panel);
    if (!window.Chart) {
      const text = datasets.map(ds => `${datasets.length > 1 ? `${ds.label}: ` : ''}${labels.map((l, i) => `${l} ${ds.data[i]}`).join(' · ')}`);
      panel.append(h('p', { class: 'muted small' }, text.join(' | ') || 'no data'));
      return;
    }
    const styles = getComputedStyle(document.documentElement);
    const palette = [styles.getPropertyValue('--accent').trim() || '#2457c5', '#e0972f', '#18794e', '#9b51e0'];
    const doughnut = type === 'doughnut';
    const valueAxis = { beginAtZero: true, stacked: !!opts.stacked, ticks: { precision: 0 } };
    const labelAxis = { stacked: !!opts.stacked };
    const chart = new window.Chart(canvas, {
      type,
      data: {
        labels,
        datasets: datasets.map((ds, i) => ({
          label: ds.label, data: ds.data,
          backgroundColor: doughnut ? palette.slice(0, ds.data.length) : palette[i % palette.length],
        })),
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        indexAxis: opts.horizontal ? 'y' : 'x',
        plugins: { legend: { display: doughnut || datasets.length > 1 } },
        scales: doughnut ? {} : opts.horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
      },
    });
    instances.push(chart);
    panel.dataset.drawn = '1';
  }

  const siteLabel = (id) => {
    if (!id) return '(no site)';
    const o = [...site.options].find(x => x.value === id);
    return o ? o.textContent : id;
  };

  function drawFromRows(dayRows, hourRows, weekdayRows) {
    const visits = dayRows.reduce((n, r) => n + (Number(r.visits) || 0), 0);
    summary.textContent = `${visits} customer visit${visits === 1 ? '' : 's'} in this range (staff excluded).`;
    const hours = Array(24).fill(0);
    for (const r of hourRows) {
      const hh = Number(String(r.bucket).slice(11, 13));
      if (Number.isInteger(hh) && hh >= 0 && hh < 24) hours[hh] += Number(r.visitors) || 0;
    }
    chartPanel('hour', 'Visitors per hour of day', 'bar', hours.map((_, i) => hourLabel(i)), [{ label: 'visitors', data: hours }]);
    const days = new Map();
    for (const r of dayRows) {
      const d = days.get(r.bucket) || { new: 0, returning: 0 };
      d.new += Number(r.new_visitors) || 0;
      d.returning += Number(r.returning_visitors) || 0;
      days.set(r.bucket, d);
    }
    const dayKeys = [...days.keys()].sort();
    chartPanel('day', 'Visitors per day (new and returning)', 'bar', dayKeys, [
      { label: 'new', data: dayKeys.map(k => days.get(k).new) },
      { label: 'returning', data: dayKeys.map(k => days.get(k).returning) },
    ], { stacked: true });
    const wd = Array(7).fill(0);
    for (const r of weekdayRows) {
      const n = Number(r.bucket);
      if (Number.isInteger(n)) wd[n % 7] += Number(r.visitors) || 0;
    }
    chartPanel('weekday', 'Visitors per weekday', 'bar', WEEKDAYS, [{ label: 'visitors', data: wd }]);
    const totals = [...days.values()].reduce((a, d) => ({ new: a.new + d.new, returning: a.returning + d.returning }), { new: 0, returning: 0 });
    chartPanel('new-returning', 'New vs returning', 'doughnut', ['new', 'returning'], [{ label: 'visitors', data: [totals.new, totals.returning] }]);
    const perSite = new Map();
    for (const r of dayRows) perSite.set(r.site_id || '', (perSite.get(r.site_id || '') || 0) + (Number(r.visitors) || 0));
    const siteKeys = [...perSite.keys()];
    chartPanel('site', 'Visitors per site', 'bar', siteKeys.map(siteLabel), [{ label: 'visitors', data: siteKeys.map(k => perSite.get(k)) }], { horizontal: true });
  }

  function drawFromSeries(report) {
    const one = (values) => [{ label: 'visitors', data: values }];
    const hour = readSeries(report, SERIES.hour);
    const day = readSeries(report, SERIES.day);
    const weekday = readSeries(report, SERIES.weekday);
    const sites = readSeries(report, SERIES.site);
    const nr = readNewReturning(report);
    const total = pick(report, ['total', 'total_visitors', 'visitors', 'unique_visitors']);
    summary.textContent = typeof total === 'number' ? `${total} visitors in this range.` : '';
    if (hour) chartPanel('hour', 'Visitors per hour of day', 'bar', hour.map(r => hourLabel(r.label)), one(hour.map(r => r.value)));
    if (day) chartPanel('day', 'Visitors per day', 'bar', day.map(r => String(r.label)), one(day.map(r => r.value)));
    if (weekday) chartPanel('weekday', 'Visitors per weekday', 'bar', weekday.map(r => weekdayLabel(r.label)), one(weekday.map(r => r.value)));
    if (nr) chartPanel('new-returning', 'New vs returning', 'doughnut', ['new', 'returning'], one([nr.new, nr.returning]));
    if (sites) {
      chartPanel('site', 'Visitors per site', 'bar',
        sites.map(r => (r.row && r.row.site_name) || siteLabel(String(r.label))), one(sites.map(r => r.value)), { horizontal: true });
    }
  }

  async function load() {
    error.textContent = '';
    if (from.value > to.value) { error.textContent = '"From" is after "to".'; return; }
    let report;
    try {
      report = await api.get(`/reports/visitors${api.query({ ...params(), bucket: 'day' })}`);
    } catch (e) {
      error.textContent = `Could not load the report: ${e.message}`;
      return;
    }
    destroyCharts();
    clear(charts);
    if (!window.Chart) {
      error.textContent = 'Charts are unavailable: web/vendor/chart.umd.min.js is missing (run scripts/web-vendor). Numbers are shown instead.';
    }
    const rows = rowsOf(report);
    if (rows) {
      let hourRows = [];
      let weekdayRows = [];
      try {
        [hourRows, weekdayRows] = await Promise.all(['hour', 'weekday'].map(async b =>
          rowsOf(await api.get(`/reports/visitors${api.query({ ...params(), bucket: b })}`)) || []));
      } catch (e) {
        error.textContent = `Part of the report failed: ${e.message}`;
      }
      drawFromRows(rows, hourRows, weekdayRows);
    } else {
      drawFromSeries(report);
    }
    if (!charts.children.length) charts.append(h('p', { class: 'muted' }, 'The report holds no series to draw.'));
  }

  csvBtn.addEventListener('click', () => act(async () => {
    const res = await api.request('GET', `/reports/visitors${api.query({ ...params(), bucket: csvBucket.value })}`, { accept: 'text/csv', raw: true });
    const blob = await res.blob();
    downloadBlob(blob, `vigil-visitors-${csvBucket.value}-${from.value}-to-${to.value}.csv`);
  }, 'CSV downloaded.', csvBtn));

  const form = h('form', { class: 'filters', id: 'report-form', onsubmit: (e) => { e.preventDefault(); load(); } },
    h('label', {}, 'From', from), h('label', {}, 'To', to), h('label', {}, 'Site', site),
    h('button', { type: 'submit', class: 'primary' }, 'Show'), h('label', {}, 'CSV rows', csvBucket), csvBtn);
  view.append(h('h1', {}, 'Reports'), h('section', { class: 'panel' }, form, error, summary), charts);

  try {
    for (const s of await api.listAll('/sites', {}, 5)) site.append(h('option', { value: s.id }, s.name || s.id));
  } catch (e) {
    error.textContent = `Could not load sites: ${e.message}`;
  }
  await load();
  return destroyCharts;
}
