// Unit tests of the dashboard's pure logic (no browser): the MJPEG multipart
// parser of the live view, the report readers, camera source validation and
// query building. Run: node --test tests/e2e/web_units.test.mjs

import assert from 'node:assert/strict';
import test from 'node:test';

import { query } from '../../web/js/api.js';
import { sourceUrl } from '../../web/js/pages/cameras.js';
import { MultipartParser } from '../../web/js/pages/live.js';
import { readNewReturning, readSeries, rowsOf } from '../../web/js/pages/reports.js';
import { payloadOf } from '../../web/js/live.js';

const enc = new TextEncoder();

function concat(...parts) {
  const bufs = parts.map(p => (typeof p === 'string' ? enc.encode(p) : p));
  const out = new Uint8Array(bufs.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of bufs) { out.set(b, o); o += b.length; }
  return out;
}

// Two JPEG-like bodies that contain CRLFs and "--" so a naive split would break.
const bodyA = concat(new Uint8Array([0xff, 0xd8, 13, 10, 45, 45, 0x00, 0xff, 0xd9]));
const bodyB = concat(new Uint8Array([0xff, 0xd8, 1, 2, 3, 13, 10, 13, 10, 0xff, 0xd9]));

function stream({ withLength }) {
  const part = (body, meta) => concat(
    '--frame\r\nContent-Type: image/jpeg\r\n',
    withLength ? `Content-Length: ${body.length}\r\n` : '',
    meta ? `X-Vigil-Meta: ${meta}\r\n` : '',
    '\r\n', body, '\r\n');
  // Without Content-Length a part ends only when the next delimiter arrives.
  return concat(part(bodyA, '{"width":640,"height":480,"tracks":[]}'), part(bodyB), '--frame\r\n');
}

for (const withLength of [true, false]) {
  test(`multipart parser splits frames at any chunk boundary (Content-Length: ${withLength})`, () => {
    const all = stream({ withLength });
    for (let cut = 1; cut < all.length; cut++) {
      const p = new MultipartParser('frame');
      const parts = [...p.push(all.slice(0, cut)), ...p.push(all.slice(cut))];
      assert.equal(parts.length, 2, `cut at ${cut}`);
      assert.deepEqual([...parts[0].body], [...bodyA], `first body, cut at ${cut}`);
      assert.deepEqual([...parts[1].body], [...bodyB], `second body, cut at ${cut}`);
      assert.equal(parts[0].headers.get('content-type'), 'image/jpeg');
      assert.equal(JSON.parse(parts[0].headers.get('x-vigil-meta')).width, 640);
      assert.equal(parts[1].headers.has('x-vigil-meta'), false);
    }
  });
}

test('multipart parser handles byte-at-a-time input and a growing buffer', () => {
  const big = new Uint8Array(200 * 1024).map((_, i) => i % 251);
  const all = concat(`--b\r\nContent-Type: image/jpeg\r\nContent-Length: ${big.length}\r\n\r\n`, big, '\r\n--b\r\n');
  const p = new MultipartParser('b');
  let parts = [];
  for (let i = 0; i < all.length; i += 1000) parts = parts.concat(p.push(all.slice(i, i + 1000)));
  assert.equal(parts.length, 1);
  assert.equal(parts[0].body.length, big.length);
  assert.equal(parts[0].body[12345], 12345 % 251);
});

test('report rows are recognised only when every row has a bucket', () => {
  const rows = [{ site_id: 's', bucket: '2026-11-28', visitors: 3, new_visitors: 1, returning_visitors: 2 }];
  assert.deepEqual(rowsOf({ items: rows, next_cursor: null }), rows);
  assert.deepEqual(rowsOf(rows), rows);
  assert.equal(rowsOf({ by_day: { '2026-11-28': 3 } }), null);
  assert.equal(rowsOf({ items: [{ visitors: 1 }] }), null);
});

test('report series are read from arrays or label→count objects', () => {
  assert.deepEqual(readSeries({ by_hour: [{ hour: 9, visitors: 2 }, { hour: 10, count: 5 }] }, ['by_hour'])
    .map(r => [r.label, r.value]), [[9, 2], [10, 5]]);
  assert.deepEqual(readSeries({ daily: { '2026-11-27': 1, '2026-11-28': 4 } }, ['by_day', 'daily'])
    .map(r => [r.label, r.value]), [['2026-11-27', 1], ['2026-11-28', 4]]);
  assert.equal(readSeries({}, ['by_hour']), null);
  assert.deepEqual(readNewReturning({ new_vs_returning: { new: 3, returning: 7 } }), { new: 3, returning: 7 });
  assert.deepEqual(readNewReturning({ new_visitors: 2, returning_visitors: 1 }), { new: 2, returning: 1 });
  assert.equal(readNewReturning({ something: 1 }), null);
});

test('camera sources are validated before they reach the API', () => {
  assert.equal(sourceUrl('url', ' rtsp://10.0.0.5/stream '), 'rtsp://10.0.0.5/stream');
  assert.equal(sourceUrl('url', 'https://cam.local/mjpeg'), 'https://cam.local/mjpeg');
  assert.equal(sourceUrl('device', '0'), '0');
  assert.equal(sourceUrl('file', '/videos/door.mp4'), '/videos/door.mp4');
  assert.throws(() => sourceUrl('device', 'abc'), /device index/);
  assert.throws(() => sourceUrl('file', 'videos/door.mp4'), /absolute path/);
  assert.throws(() => sourceUrl('url', 'ftp://x'), /rtsp/);
});

test('query strings leave out empty values', () => {
  assert.equal(query({ a: 1, b: '', c: null, d: undefined, e: 'x y' }), '?a=1&e=x+y');
  assert.equal(query({}), '');
});

test('live messages give their payload under the type, data, or top level', () => {
  assert.deepEqual(payloadOf({ type: 'event', event: { id: 'e1' } }), { id: 'e1' });
  assert.deepEqual(payloadOf({ type: 'worker', data: { id: 'w' } }), { id: 'w' });
  const flat = { type: 'visit', id: 'v' };
  assert.equal(payloadOf(flat), flat);
});
