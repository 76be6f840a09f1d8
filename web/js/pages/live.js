// Live view of one camera: reads GET /api/v1/cameras/{id}/stream.mjpeg
// (multipart/x-mixed-replace) with fetch instead of a bare <img>, so the page
// can show the API's error message when the stream cannot start, count frames
// and fps, and draw the face boxes that arrive with each frame.
//
// Per-part metadata: a part header "X-Vigil-Meta" (or "X-Tracks") holding JSON
// {width, height, tracks:[{bbox:[x,y,w,h], name, staff_id}]} is drawn over the
// image when present; the boxes are in source-frame pixels.

import * as api from '../api.js';
import { h } from '../ui.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

function indexOf(buf, len, needle, from) {
  outer: for (let i = from; i <= len - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (buf[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

// Incremental multipart parser: push(chunk) returns the complete parts so far
// as {headers: Map(lower-case name → value), body: Uint8Array}.
export class MultipartParser {
  constructor(boundary) {
    this.delim = enc.encode(`--${boundary}`);
    this.buf = new Uint8Array(64 * 1024);
    this.len = 0;
  }

  push(chunk) {
    if (this.len + chunk.length > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.len + chunk.length));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
    const parts = [];
    for (;;) {
      const part = this.next();
      if (!part) break;
      parts.push(part);
    }
    return parts;
  }

  next() {
    const start = indexOf(this.buf, this.len, this.delim, 0);
    if (start < 0) return null;
    const headStart = start + this.delim.length;
    const headEnd = indexOf(this.buf, this.len, enc.encode('\r\n\r\n'), headStart);
    if (headEnd < 0) return null;
    const headers = new Map();
    for (const line of dec.decode(this.buf.subarray(headStart, headEnd)).split('\r\n')) {
      const c = line.indexOf(':');
      if (c > 0) headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
    }
    const bodyStart = headEnd + 4;
    let bodyEnd;
    let consumed;
    const cl = Number(headers.get('content-length'));
    if (Number.isFinite(cl) && cl > 0) {
      if (this.len < bodyStart + cl) return null;
      bodyEnd = bodyStart + cl;
      consumed = bodyEnd;
    } else {
      const nextDelim = indexOf(this.buf, this.len, this.delim, bodyStart);
      if (nextDelim < 0) return null;
      bodyEnd = nextDelim;
      // Strip the CRLF that precedes the next delimiter.
      if (bodyEnd >= 2 && this.buf[bodyEnd - 2] === 13 && this.buf[bodyEnd - 1] === 10) bodyEnd -= 2;
      consumed = nextDelim;
    }
    const body = this.buf.slice(bodyStart, bodyEnd);
    this.buf.copyWithin(0, consumed, this.len);
    this.len -= consumed;
    return { headers, body };
  }
}

function drawBoxes(canvas, img, meta) {
  const w = img.naturalWidth;
  const hgt = img.naturalHeight;
  if (!w || !hgt) return;
  canvas.width = w;
  canvas.height = hgt;
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, w, hgt);
  if (!meta || !Array.isArray(meta.tracks)) return;
  const sx = meta.width ? w / meta.width : 1;
  const sy = meta.height ? hgt / meta.height : 1;
  ctx.lineWidth = Math.max(2, w / 320);
  ctx.font = `${Math.max(12, Math.round(w / 50))}px system-ui, sans-serif`;
  for (const t of meta.tracks) {
    if (!Array.isArray(t.bbox) || t.bbox.length !== 4) continue;
    const [x, y, bw, bh] = t.bbox;
    const color = t.staff_id ? '#4ccf8e' : '#f0b256';
    ctx.strokeStyle = color;
    ctx.strokeRect(x * sx, y * sy, bw * sx, bh * sy);
    const label = t.name || (t.staff_id ? 'staff' : `#${t.track_id ?? ''}`);
    ctx.fillStyle = color;
    ctx.fillText(label, x * sx, Math.max(12, y * sy - 4));
  }
}

export async function render(view, params) {
  const id = params.id;
  let camera = null;
  try { camera = await api.get(`/cameras/${encodeURIComponent(id)}`); } catch { /* shown below via the stream error */ }
  const img = h('img', { alt: `live view of ${camera ? camera.name : id}`, id: 'live-img' });
  const canvas = h('canvas', { id: 'live-overlay' });
  const box = h('div', { class: 'live-view', id: 'live-view', dataset: { frames: '0', state: 'connecting' } }, img, canvas);
  const message = h('p', { class: 'live-message muted', id: 'live-message', role: 'status' }, 'Connecting to the camera…');
  const stats = h('p', { class: 'muted small', id: 'live-stats' });
  const retry = h('button', { type: 'button', hidden: true, onclick: () => start() }, 'Try again');
  view.append(h('p', {}, h('a', { href: '#/cameras' }, '‹ Cameras')),
    h('h1', {}, `Live: ${camera ? camera.name || id : id}`),
    h('section', { class: 'panel' }, box, message, stats, retry));

  let controller = null;
  let lastUrl = null;
  let frames = 0;
  let fpsWindow = [];
  let meta = null;
  img.addEventListener('load', () => drawBoxes(canvas, img, meta));

  function fail(text) {
    box.dataset.state = 'error';
    message.className = 'live-message bad';
    message.setAttribute('role', 'alert');
    message.textContent = text;
    retry.hidden = false;
  }

  async function start() {
    if (controller) controller.abort();
    controller = new AbortController();
    const { signal } = controller;
    retry.hidden = true;
    box.dataset.state = 'connecting';
    message.className = 'live-message muted';
    message.textContent = 'Connecting to the camera…';
    let res;
    try {
      res = await fetch(`/api/v1/cameras/${encodeURIComponent(id)}/stream.mjpeg`, { credentials: 'same-origin', signal, cache: 'no-store' });
    } catch (e) {
      if (!signal.aborted) fail(`Cannot reach the API: ${e.message}`);
      return;
    }
    if (!res.ok) {
      let msg = `${res.status} ${res.statusText}`;
      try { const b = await res.json(); if (b && b.error && b.error.message) msg = b.error.message; } catch { /* keep status */ }
      fail(res.status === 404 ? `Live view unavailable: ${msg}` : `Live view failed: ${msg}`);
      return;
    }
    const ctype = res.headers.get('content-type') || '';
    const m = /boundary="?([^";]+)"?/i.exec(ctype);
    if (!/multipart\/x-mixed-replace/i.test(ctype) || !m) {
      fail(`Live view failed: the API answered ${ctype || 'no content type'} instead of an MJPEG stream.`);
      return;
    }
    const parser = new MultipartParser(m[1]);
    const reader = res.body.getReader();
    box.dataset.state = 'streaming';
    message.textContent = 'Waiting for the first frame…';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const part of parser.push(value)) showFrame(part);
      }
      if (!signal.aborted) fail('The stream ended (the camera stopped or its worker went away).');
    } catch (e) {
      if (!signal.aborted) fail(`The stream broke: ${e.message}`);
    }
  }

  function showFrame(part) {
    const type = part.headers.get('content-type') || 'image/jpeg';
    if (!type.startsWith('image/')) return;
    const rawMeta = part.headers.get('x-vigil-meta') || part.headers.get('x-tracks');
    meta = null;
    if (rawMeta) { try { meta = JSON.parse(rawMeta); } catch { meta = null; } }
    const url = URL.createObjectURL(new Blob([part.body], { type }));
    const prev = lastUrl;
    lastUrl = url;
    img.src = url;
    if (prev) setTimeout(() => URL.revokeObjectURL(prev), 1000);
    frames++;
    box.dataset.frames = String(frames);
    const now = performance.now();
    fpsWindow.push(now);
    fpsWindow = fpsWindow.filter(t => now - t < 3000);
    if (frames === 1) { message.className = 'live-message muted'; message.textContent = 'Live.'; }
    const fps = fpsWindow.length > 1 ? (fpsWindow.length - 1) / ((now - fpsWindow[0]) / 1000) : 0;
    const faces = meta && Array.isArray(meta.tracks) ? ` · ${meta.tracks.length} face${meta.tracks.length === 1 ? '' : 's'}` : '';
    stats.textContent = `${frames} frames · ${fps.toFixed(1)} fps${faces}`;
  }

  start();
  // Leaving the page aborts the request, which closes the connection so the
  // API can stop the worker's stream when no viewer is left.
  return () => {
    if (controller) controller.abort();
    if (lastUrl) URL.revokeObjectURL(lastUrl);
  };
}
