#!/usr/bin/python3
"""Writes the seed corpora of fuzz/corpus/<target>/ (small, hand-made inputs).

Run from the repository root with Debian's python3 (it has cv2 for the tiny
test images): /usr/bin/python3 fuzz/make_seeds.py. The seeds are committed;
rerun only to change them. Names are stable, so reruns overwrite.
"""
import base64
import json
import os
import struct

import cv2
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
TOKEN = "fuzz-admin-token-0123456789abcdef"  # fuzz_http.cc's admin token
UUID = "0b7c5a8e-3f1d-4c2a-9e6b-1a2b3c4d5e6f"
UUID2 = "7d9f1e2a-5b3c-4d6e-8f70-a1b2c3d4e5f6"


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def embedding(n=4):
    v = np.full(n, 1.0 / np.sqrt(n), dtype="<f4")
    return base64.b64encode(v.tobytes()).decode()


# ---------------------------------------------------------------- protocol
stats = {"events_created": 10, "events_acked": 9, "events_spooled": 1, "events_dropped": 0,
         "faces_seen": 120, "cpu": 0.35, "rss_bytes": 104857600, "uptime_s": 60}
camera = {"id": "cam-1", "name": "door", "url": "rtsp://cam/1", "site_id": "site-1", "fps": 5}
messages = {
    "hello": {"type": "hello", "protocol": 1, "worker_id": "worker-001", "host": "shop-pc", "pid": 1234,
              "version": "0.1.0", "capabilities": {"detector": "yunet", "embedder": "faceapi",
                                                   "models": ["faceapi-recognition-128"], "max_cameras": 4},
              "cameras": [{"id": "cam-local-1", "name": "door", "url": "rtsp://cam/2"}], "state": "registering"},
    "heartbeat": {"type": "heartbeat", "seq": 17, "state": "running", "sent_at": "2026-11-29T06:00:00.000Z",
                  "cameras": [{"id": "cam-1", "state": "running", "fps": 4.9, "faces": 2, "error": None}],
                  "stats": stats},
    "event": {"type": "event", "event_id": UUID, "worker_id": "worker-001", "camera_id": "cam-1",
              "site_id": "site-1", "captured_at": "2026-11-29T06:00:00.123Z", "track_id": 42,
              "bbox": [10, 20, 30, 40], "det_score": 0.98, "quality": 0.71, "model": "faceapi-recognition-128",
              "embedding": embedding(), "staff_id": None, "staff_similarity": None, "has_snapshot": True},
    "goodbye": {"type": "goodbye", "reason": "shutdown", "stats": stats},
    "welcome": {"type": "welcome", "session_id": UUID2, "heartbeat_interval_ms": 5000, "cameras": [camera],
                "gallery_version": 3},
    "assign": {"type": "assign", "cameras": [camera]},
    "gallery": {"type": "gallery", "version": 4, "full": True, "model": "faceapi-recognition-128",
                "upsert": [{"staff_id": "staff-1", "name": "Ann", "face_id": "face-1", "embedding": embedding()}],
                "remove": []},
    "gallery_delta": {"type": "gallery", "version": 5, "full": False, "model": "faceapi-recognition-128",
                      "upsert": [], "remove": ["face-1"]},
    "command_start": {"type": "command", "command": "start_stream",
                      "args": {"camera_id": "cam-1", "fps": 5, "max_width": 640}},
    "command_reload": {"type": "command", "command": "reload", "args": {}},
    "ack": {"type": "ack", "event_ids": [UUID, UUID2]},
    "error": {"type": "error", "code": "bad_message", "message": "event.bbox must be 4 numbers"},
    "unknown": {"type": "teleport", "x": 1},
}
for name, m in messages.items():
    write("fuzz_protocol", "text_" + name + ".json", json.dumps(m, separators=(",", ":")))


def binary(header, payload):
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack(">I", len(h)) + h + payload


jpeg_bytes = b"\xff\xd8\xff\xe0fake-jpeg\xff\xd9"
write("fuzz_protocol", "bin_snapshot", binary({"type": "snapshot", "event_id": UUID, "content_type": "image/jpeg"},
                                              jpeg_bytes))
write("fuzz_protocol", "bin_frame", binary({"type": "frame", "camera_id": "cam-1", "seq": 12,
                                            "captured_at": "2026-11-29T06:00:00.123Z", "width": 640, "height": 360,
                                            "tracks": [{"track_id": 3, "bbox": [1, 2, 3, 4], "name": "Ann",
                                                        "staff_id": "staff-1"}]}, jpeg_bytes))

# ---------------------------------------------------------------- images
img = np.zeros((24, 32, 3), np.uint8)
cv2.rectangle(img, (8, 4), (24, 20), (200, 180, 160), -1)
cv2.circle(img, (13, 10), 2, (20, 20, 20), -1)
cv2.circle(img, (19, 10), 2, (20, 20, 20), -1)
ok, png = cv2.imencode(".png", img)
ok2, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 70])
ok3, gray = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
ok4, prog = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
assert ok and ok2 and ok3 and ok4
write("fuzz_image", "tiny.png", png.tobytes())
write("fuzz_image", "tiny.jpg", jpg.tobytes())
write("fuzz_image", "tiny_gray.png", gray.tobytes())
write("fuzz_image", "tiny_progressive.jpg", prog.tobytes())
write("fuzz_image", "not_an_image.txt", b"GIF89a this is not a JPEG or PNG")

# ---------------------------------------------------------------- http


def request(method, target, body=b"", content_type="application/json", auth=True, extra=""):
    head = f"{method} {target} HTTP/1.1\r\nHost: localhost\r\n"
    if auth:
        head += f"Authorization: Bearer {TOKEN}\r\n"
    if body:
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    head += extra + "\r\n"
    return head.encode() + body


reqs = {
    "healthz": request("GET", "/healthz", auth=False),
    "readyz": request("GET", "/readyz", auth=False),
    "metrics": request("GET", "/metrics", auth=False),
    "openapi": request("GET", "/api/v1/openapi.json"),
    "session_create": request("POST", "/api/v1/session", json.dumps({"token": TOKEN}).encode(), auth=False),
    "session_get_cookie": request("GET", "/api/v1/session", auth=False, extra="Cookie: vigil_session=abc\r\n"),
    "session_delete": request("DELETE", "/api/v1/session", auth=False),
    "sites_create": request("POST", "/api/v1/sites", json.dumps({"name": "Shop", "timezone": "Europe/Paris"}).encode()),
    "sites_list": request("GET", "/api/v1/sites?limit=10&offset=0"),
    "sites_patch": request("PATCH", "/api/v1/sites/site-1", json.dumps({"name": "Shop 2"}).encode()),
    "cameras_create": request("POST", "/api/v1/cameras",
                              json.dumps({"name": "door", "url": "rtsp://cam/1", "site_id": "site-1",
                                          "fps": 5, "enabled": True}).encode()),
    "cameras_get": request("GET", "/api/v1/cameras/cam-1"),
    "cameras_stream": request("POST", "/api/v1/cameras/cam-1/stream", json.dumps({"action": "start"}).encode()),
    "workers_list": request("GET", "/api/v1/workers"),
    "staff_create": request("POST", "/api/v1/staff", json.dumps({"name": "Ann", "site_id": None}).encode()),
    "staff_faces_enroll": request("POST", "/api/v1/staff/staff-1/faces", png.tobytes(), content_type="image/png"),
    "staff_faces_delete": request("DELETE", "/api/v1/staff/staff-1/faces/face-1"),
    "customers_list": request("GET", "/api/v1/customers?named=true&limit=5&cursor=abc"),
    "customers_patch": request("PATCH", "/api/v1/customers/c-1", json.dumps({"label": "regular"}).encode()),
    "visits_list": request("GET", "/api/v1/visits?from=2026-11-01T00:00:00Z&to=2026-11-30T00:00:00Z&site_id=s"),
    "events_list": request("GET", "/api/v1/events?camera_id=cam-1&limit=3"),
    "reports_visitors": request("GET", "/api/v1/reports/visitors?from=2026-11-01&to=2026-11-30&bucket=day&format=csv"),
    "recognize": request("POST", "/api/v1/recognize", jpg.tobytes(), content_type="image/jpeg"),
    "snapshot": request("GET", "/api/v1/snapshots/" + UUID),
    "static_index": request("GET", "/", auth=False),
    "static_traversal": request("GET", "/%2e%2e/%2e%2e/etc/passwd", auth=False),
    "ws_worker_upgrade": request("GET", "/ws/worker", auth=False,
                                 extra="Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                       "Authorization: Bearer fuzz-worker-key-0123456789abcdef\r\n"),
    "chunked": b"POST /api/v1/sites HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode() +
               b"\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"nam\r\n11\r\ne\":\"Chunked site\"}\r\n0\r\n\r\n",
    "method_not_allowed": request("PUT", "/api/v1/workers"),
}
for name, data in reqs.items():
    write("fuzz_http", name + ".http", data)

# ---------------------------------------------------------------- spool
# fuzz_spool.cc's layout: a mode byte (bit 0 framed, bit 1 counters.json
# first), pieces separated by "SEG!", records by "REC!" in framed mode.


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def lp(b):
    return struct.pack("<I", len(b)) + b


def event_payload(seq, event_id, snapshot=b"\xff\xd8\xff\xd9"):
    js = json.dumps(dict(messages["event"], event_id=event_id), separators=(",", ":")).encode()
    return struct.pack("<Q", seq) + lp(event_id.encode()) + lp(js) + lp(snapshot)


def ack_payload(total, ids):
    return struct.pack("<QI", total, len(ids)) + b"".join(lp(i.encode()) for i in ids)


def record(rtype, payload):
    body = struct.pack("<I", len(payload)) + bytes([rtype]) + payload
    return struct.pack("<II", 0x4C475356, crc32c(body)) + body


ev1, ev2 = event_payload(1, UUID), event_payload(2, UUID2)
ack1 = ack_payload(1, [UUID])
counters = json.dumps({"created": 2, "acked": 1, "dropped": 0}).encode()
# Raw segment files, as the spool writes them.
write("fuzz_spool", "raw_two_events_one_ack", b"\x00" + record(1, ev1) + record(1, ev2) + record(2, ack1))
write("fuzz_spool", "raw_with_counters", b"\x02" + counters + b"SEG!" + record(1, ev1) + b"SEG!" + record(1, ev2))
write("fuzz_spool", "raw_torn_tail", b"\x00" + record(1, ev1) + record(1, ev2)[:20])
write("fuzz_spool", "raw_corrupt_middle", b"\x00" + record(1, ev1) + b"garbage" + record(1, ev2))
# Framed: the harness adds magic, CRC and length.
write("fuzz_spool", "framed_events_and_ack", b"\x01" + b"\x01" + ev1 + b"REC!" + b"\x01" + ev2 + b"REC!\x02" + ack1)
write("fuzz_spool", "framed_two_segments", b"\x03" + counters + b"SEG!\x01" + ev1 + b"SEG!\x01" + ev2 +
      b"REC!\x02" + ack_payload(2, [UUID, UUID2]))
