// Regenerates tests/models/testdata/faceapi_reference.json: the outputs of
// face-api 1.7.15 itself (TF.js, CPU backend) on a synthetic input pattern,
// which faceapi_reference_test.cc compares with Vigil's converted ONNX graphs.
//
//   node tests/models/tools/faceapi_reference.mjs <extracted package dir> > tests/models/testdata/faceapi_reference.json
//
// <extracted package dir> holds dist/face-api.esm.js and model/ (e.g.
// $VIGIL_MODELS_DIR/.cache/face-api-1.7.15/package after `vigil models install`;
// the install extracts only model/, so extract dist/face-api.esm.js too).
import fs from 'fs';

// The ESM bundle carries the browser build of TF.js; present a minimal
// browser so it picks its browser platform (Node 20 has TextEncoder/fetch).
globalThis.window = globalThis;
globalThis.document = { createElement: () => ({}) };
const pkg = process.argv[2];
const faceapi = await import(pkg + '/dist/face-api.esm.js');
const tf = faceapi.tf;
await tf.setBackend('cpu');
await tf.ready();

function load(net, stem) {
  const man = JSON.parse(fs.readFileSync(`${pkg}/model/${stem}-weights_manifest.json`));
  const buf = fs.readFileSync(`${pkg}/model/${man[0].paths[0]}`);
  net.loadFromWeightMap(tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), man[0].weights));
}

// Same formula as Pattern() in faceapi_reference_test.cc: RGB, row-major HWC.
function pattern(size) {
  const v = new Int32Array(size * size * 3);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < 3; c++) v[(y * size + x) * 3 + c] = (x * 7 + y * 13 + c * 29 + ((x * y) % 17) * 5) % 256;
  return tf.tensor3d(v, [size, size, 3], 'int32');
}

load(faceapi.nets.faceRecognitionNet, 'face_recognition_model');
load(faceapi.nets.faceLandmark68Net, 'face_landmark_68_model');
load(faceapi.nets.ssdMobilenetv1, 'ssd_mobilenetv1_model');
const out = { source: '@vladmandic/face-api@1.7.15 under TF.js CPU' };
out.descriptor = Array.from(await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(pattern(150)));
const lm = faceapi.nets.faceLandmark68Net.forwardInput(await faceapi.toNetInput(pattern(112)));
out.landmarks = Array.from(await lm.data());
const ssd = faceapi.nets.ssdMobilenetv1.forwardInput(await faceapi.toNetInput(pattern(512)));
const boxes = await (Array.isArray(ssd.boxes) ? ssd.boxes[0] : ssd.boxes).data();
const scores = await (Array.isArray(ssd.scores) ? ssd.scores[0] : ssd.scores).data();
const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a]).slice(0, 20);
out.ssd_top = order.map((i) => ({ index: i, score: scores[i], box: Array.from(boxes.slice(4 * i, 4 * i + 4)) }));
out.ssd_score_sum = Array.from(scores).reduce((a, b) => a + b, 0);
process.stdout.write(JSON.stringify(out) + '\n');
