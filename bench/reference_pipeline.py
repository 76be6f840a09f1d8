#!/usr/bin/python3
"""Reference worker loop in Python + OpenCV, the way the original Python worker
was built: read every frame, detect faces (YuNet), and embed every detected
face in every frame (box crop -> 150x150 -> face-api recognition ONNX), with
no tracking. bench/worker_bench.cc runs it on the same video with the same
ONNX models and compares frames per second and detections.

Prints one JSON object: frames, detections, fps, per-stage milliseconds.
"""
import argparse
import json
import sys
import time

import cv2
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--video", required=True)
    ap.add_argument("--yunet", required=True)
    ap.add_argument("--recognition", required=True)
    ap.add_argument("--threshold", type=float, default=0.7)
    args = ap.parse_args()

    cap = cv2.VideoCapture(args.video)
    if not cap.isOpened():
        print(json.dumps({"error": "cannot open " + args.video}))
        return 1
    detector = cv2.FaceDetectorYN.create(args.yunet, "", (320, 320), args.threshold, 0.3, 5000)
    net = cv2.dnn.readNetFromONNX(args.recognition)

    frames = detections = 0
    per_frame = []
    t_read = t_detect = t_embed = 0.0
    cpu_start = time.process_time()
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        ok, frame = cap.read()
        t1 = time.perf_counter()
        if not ok:
            break
        t_read += t1 - t0
        h, w = frame.shape[:2]
        detector.setInputSize((w, h))
        _, faces = detector.detect(frame)
        t2 = time.perf_counter()
        t_detect += t2 - t1
        faces = [] if faces is None else faces
        for f in faces:
            x, y, bw, bh = [int(v) for v in f[:4]]
            x0, y0 = max(0, x), max(0, y)
            x1, y1 = min(w, x + bw), min(h, y + bh)
            if x1 <= x0 or y1 <= y0:
                continue
            chip = cv2.resize(frame[y0:y1, x0:x1], (150, 150))
            blob = cv2.dnn.blobFromImage(chip, 1.0, (150, 150), (0, 0, 0), swapRB=True)
            net.setInput(blob)
            emb = net.forward().flatten()
            emb = emb / (np.linalg.norm(emb) + 1e-12)
        t_embed += time.perf_counter() - t2
        frames += 1
        detections += len(faces)
        per_frame.append(len(faces))
    total = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(json.dumps({
        "frames": frames,
        "detections": detections,
        "per_frame": per_frame,
        "fps": frames / total if total > 0 else 0,
        "cpu_ms_per_frame": 1000 * cpu / max(frames, 1),
        "read_ms": 1000 * t_read / max(frames, 1),
        "detect_ms": 1000 * t_detect / max(frames, 1),
        "embed_ms": 1000 * t_embed / max(frames, 1),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
